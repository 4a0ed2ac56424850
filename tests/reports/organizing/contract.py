"""The contract's header of every organizing report (shared/contracts/organizing.md, §2),
copied here by hand so the tests check the queries against the contract, not against
themselves. For the pivots these are the fixed columns; one column per tag or custom
field follows them."""

from __future__ import annotations

_ACTION_FIXED = (
    "action_id, action_name, reportable_type, reportable_id, reportable_name, reportable_email, "
    "reportable_phone, reportable_van_id, reportable_voterbase_id"
)
_ACTION_REPORTS = (
    "action_id, action_name, user_full_name, user_email, user_id, reportable_type, reportable_id, "
    "reportable_name, reportable_email, reportable_phone, reportable_van_id, reportable_voterbase_id, "
    "synced_at, tags, custom_fields, notes, report_id"
)


def _cols(text: str) -> list[str]:
    return [c.strip() for c in text.split(",")]


HEADERS: dict[str, list[str]] = {
    "users": _cols(
        "user_id, first_name, last_name, full_name, email, phone, role, van_id, created_at, updated_at, "
        "last_seen_at, last_active_at, city, state, supplied_city, supplied_state, supplied_zip, "
        "leaderboard_points"
    ),
    "teams": _cols("user_id, first_name, last_name, full_name, email, team_id, team_name, joined_at"),
    "contacts": _cols(
        "contact_id, phone, first_name, last_name, full_name, email, voterbase_id, van_id, created_at"
    ),
    "actions": _cols(
        "action_id, created_at, updated_at, published_at, title, description, action_type, aasm_state, "
        "privacy, contact_list_id, contact_list_name, users_sent, users_saw, users_started, completed, "
        "performed"
    ),
    "messages": _cols(
        "action_id, action_name, action_type, action_published_at, sender_name, sender_id, sender_type, "
        "sender_number, receiver_name, receiver_id, receiver_type, receiver_number, receiver_van_id, "
        "aasm_state, error_code, twilio_status, body, script_type, message_id, created_at"
    ),
    "user_details": _cols(
        "action_name, action_type, sender_name, sender_user_id, sender_van_id, receiver_name, "
        "receiver_number, receiver_van_id, message_types, created_at, updated_at, last_seen_at, "
        "last_active_at, city, state, supplied_city, supplied_state, messages_sent, action_id, receiver_id"
    ),
    "action_reports": _cols(_ACTION_REPORTS),
    "action_users": _cols(
        "action_id, action_name, first_name, last_name, phone, full_name, last_seen_at, leaderboard_points, "
        "impressions, clicks, performed, completed, user_id"
    ),
    "action_contacts": _cols(
        "phone, first_name, last_name, full_name, voterbase_id, van_id, tags, custom_fields, notes, "
        "contact_id"
    ),
    "action_tags": _cols(_ACTION_FIXED),
    "action_custom_fields": _cols(_ACTION_FIXED),
    "engage_reports": [c for c in _cols(_ACTION_REPORTS) if c not in ("action_id", "action_name")],
    "engage_tags": [c for c in _cols(_ACTION_FIXED) if c not in ("action_id", "action_name")],
    "engage_custom_fields": [c for c in _cols(_ACTION_FIXED) if c not in ("action_id", "action_name")],
    "video_stories": _cols(
        "user_id, user_email, user_full_name, action_name, created_at, testimonial_first_name, "
        "testimonial_last_name, testimonial_email, note, media_url, video_story_id"
    ),
}

REPORTS = sorted(HEADERS)
TAG_PIVOTS = ("action_tags", "engage_tags")
FIELD_PIVOTS = ("action_custom_fields", "engage_custom_fields")
ACTION_SCOPED = (
    "action_reports",
    "action_users",
    "action_contacts",
    "action_tags",
    "action_custom_fields",
    "video_stories",
)
