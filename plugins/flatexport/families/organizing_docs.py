"""The page printed before an organizing report's data dictionary: what one file covers
(a cutoff, not a day), what it is scoped to and how to ask for it. Written once for the
family and filled from the spec, so the fifteen reports say it the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flatexport.families.organizing import OrganizingOptions
    from flatexport.specs import ReportSpec

_SCOPE = {
    "org": ("every row of the org", ""),
    "action": ("one action of the org", " --action ID"),
    "org_or_action": ("every row of the org, or one action's with `--action ID`", " [--action ID]"),
    "contact_list": ("one contact list of the org", " --contact-list ID"),
}
_REFUSED = " An action or list the org does not have is refused as unknown, before anything runs."
_ACTION_TYPE = {
    "TextaFriend": "friend-to-friend (TextaFriend)",
    "TextaList": "peer-to-peer (TextaList)",
    "VideoStory": "VideoStory",
}


def render(spec: ReportSpec[OrganizingOptions]) -> str:
    what, option = _SCOPE[spec.options.scope]
    runs_on = ""
    if spec.options.action_type:
        runs_on = f" It runs on {_ACTION_TYPE[spec.options.action_type]} actions only."
    lines = [
        f"# {spec.title}: what a file covers",
        "",
        f"Scope: {what}.{runs_on}{_REFUSED if option else ''}",
        "",
        "A file is the whole history of its scope up to a cutoff, not one day's rows. The file"
        " for day D holds the rows created before 00:00 of D+1 in the subscription's time zone"
        " (default UTC); a re-run of an old day leaves out rows created since, but shows"
        " names, states and counters as the source holds them now (it keeps no history)."
        " An on-demand export holds the rows created before the moment it was asked for"
        " (UTC, to the second) and is named after that UTC date. The manifest's window end"
        " is the cutoff.",
        "",
        f"Run it: `flatexport run {spec.report} --org ORG{option} --date D [--timezone TZ] [--to DIR]`.",
    ]
    return "\n".join(lines)
