-- Unique users: one row per user of one org with any activity inside the report window.
--
-- Bound parameters (never formatted into the text):
--   :org_id                      the tenant; every table is filtered by it
--   :window_start, :window_end   the report day in the subscription's zone, as UTC instants
-- A user active without a platform_users row still appears (with only the User ID).
-- The activity family takes the whole window as one chunk, so the dimension columns are
-- known before writing. JSON travels as text; the rules parse it. Portable to DuckDB and
-- PostgreSQL 15+.
WITH active AS (
    SELECT DISTINCT user_id
    FROM activity_events
    WHERE org_id = :org_id
      AND event_time >= :window_start
      AND event_time < :window_end
)
SELECT
    a.user_id,
    u.first_name,
    u.last_name,
    u.company,
    u.email,
    CAST(u.tags AS TEXT) AS tags,
    CAST(u.dimensions AS TEXT) AS dimensions
FROM active AS a
LEFT JOIN platform_users AS u ON u.user_id = a.user_id AND u.org_id = :org_id
ORDER BY a.user_id
