-- Does the source know this org at all? Lets `flatexport run` tell a typo in --org
-- apart from a quiet day. Bound parameter: :org_id.
SELECT 1 AS found FROM clickstream_events WHERE org_id = :org_id LIMIT 1
