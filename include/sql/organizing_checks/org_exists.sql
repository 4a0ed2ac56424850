-- Does the source know this organizing org at all (its users or its actions)? Asked
-- before a run, so a mistyped --org is refused instead of giving header-only files.
-- Shared by every organizing report (include/sql/<report>/org_exists.sql links here).
-- Bound parameter: :org_id.
SELECT 1 AS found FROM org_users WHERE org_id = :org_id
UNION ALL
SELECT 1 AS found FROM actions WHERE org_id = :org_id
LIMIT 1
