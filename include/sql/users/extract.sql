-- Organizing "Users": one row per volunteer or admin of the org, by user id.
--
-- Bound parameters (never formatted into the text):
--   :org_id   the tenant
--   :cutoff   the file's cutoff, a UTC instant: users created before it
-- city/state are the voter-file match, supplied_* what the user typed; never merged.
-- Portable to DuckDB and PostgreSQL 15+.
SELECT
    u.id AS user_id,
    u.first_name,
    u.last_name,
    u.full_name,
    u.email,
    u.phone,
    u.role,
    u.van_id,
    u.created_at,
    u.updated_at,
    u.last_seen_at,
    u.last_active_at,
    u.city,
    u.state,
    u.supplied_city,
    u.supplied_state,
    u.supplied_zip,
    u.leaderboard_points
FROM org_users AS u
WHERE u.org_id = :org_id
  AND u.created_at < CAST(:cutoff AS TIMESTAMPTZ)
ORDER BY u.id
