-- Does the source know this planroom (org) at all? Bound parameter: :org_id.
SELECT 1 AS found FROM plan_jobs WHERE org_id = :org_id LIMIT 1
