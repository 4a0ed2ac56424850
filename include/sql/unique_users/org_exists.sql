-- Does the source know this org at all (users or activity)? Bound parameter: :org_id.
SELECT 1 AS found FROM platform_users WHERE org_id = :org_id
UNION ALL
SELECT 1 AS found FROM activity_events WHERE org_id = :org_id
LIMIT 1
