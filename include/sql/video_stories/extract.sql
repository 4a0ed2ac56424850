-- Organizing action "Video stories" (VideoStory actions only): one row per story, by
-- created_at (to the second, as written) then story id.
--
-- Bound parameters (never formatted into the text):
--   :org_id      the tenant; stories, the action and users are each filtered by it
--   :action_id   the action (validated against the org and its type before the export)
--   :cutoff      the file's cutoff, a UTC instant: stories created before it
-- user_* are the recording volunteer's; empty when they are not a user of the org.
-- Portable to DuckDB and PostgreSQL 15+.
SELECT
    s.user_id,
    u.email AS user_email,
    u.full_name AS user_full_name,
    a.title AS action_name,
    s.created_at,
    s.testimonial_first_name,
    s.testimonial_last_name,
    s.testimonial_email,
    s.note,
    s.media_url,
    s.id AS video_story_id
FROM video_stories AS s
JOIN actions AS a ON a.id = s.action_id AND a.org_id = :org_id
LEFT JOIN org_users AS u ON u.id = s.user_id AND u.org_id = :org_id
WHERE s.org_id = :org_id
  AND s.action_id = CAST(:action_id AS BIGINT)
  AND s.created_at < CAST(:cutoff AS TIMESTAMPTZ)
ORDER BY date_trunc('second', s.created_at), s.id
