-- Organizing action "Users": one row per user the action was sent to, by user id.
--
-- Bound parameters (never formatted into the text):
--   :org_id      the tenant; recipients, the action and users are each filtered by it
--   :action_id   the action (validated against the org before the export runs)
--   :cutoff      the file's cutoff, a UTC instant: sent to the user before it
-- completed is true when the user finished the action at least once; performed is the
-- number of people the user reached through it. A recipient who is not a user of the
-- org keeps the row with empty user cells.
-- Portable to DuckDB and PostgreSQL 15+.
SELECT
    a.id AS action_id,
    a.title AS action_name,
    u.first_name,
    u.last_name,
    u.phone,
    u.full_name,
    u.last_seen_at,
    u.leaderboard_points,
    r.impressions,
    r.clicks,
    r.performed_count AS performed,
    r.completed_count > 0 AS completed,
    r.user_id
FROM action_recipients AS r
JOIN actions AS a ON a.id = r.action_id AND a.org_id = :org_id
LEFT JOIN org_users AS u ON u.id = r.user_id AND u.org_id = :org_id
WHERE r.org_id = :org_id
  AND r.action_id = CAST(:action_id AS BIGINT)
  AND r.created_at < CAST(:cutoff AS TIMESTAMPTZ)
ORDER BY r.user_id
