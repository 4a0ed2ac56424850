-- Organizing "Teams": one row per team membership (a user in two teams has two rows,
-- a user in no team none), by user id then team id.
--
-- Bound parameters (never formatted into the text):
--   :org_id   the tenant; memberships, teams and users are each filtered by it
--   :cutoff   the file's cutoff, a UTC instant: memberships created before it
-- A membership is listed only when its team and its user are rows of the org: one that
-- points at another org's team or user (or at none) is ignored.
-- Portable to DuckDB and PostgreSQL 15+.
SELECT
    u.id AS user_id,
    u.first_name,
    u.last_name,
    u.full_name,
    u.email,
    t.id AS team_id,
    t.name AS team_name,
    tm.created_at AS joined_at
FROM team_memberships AS tm
JOIN teams AS t ON t.id = tm.team_id AND t.org_id = :org_id
JOIN org_users AS u ON u.id = tm.user_id AND u.org_id = :org_id
WHERE tm.org_id = :org_id
  AND tm.created_at < CAST(:cutoff AS TIMESTAMPTZ)
ORDER BY u.id, t.id
