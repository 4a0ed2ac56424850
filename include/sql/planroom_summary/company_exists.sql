-- Is this company one of the org's planroom companies (it has jobs or users there)? A
-- scope check before a run or a subscription: another org's company is refused.
-- Bound parameters: :org_id, :company_id.
SELECT 1 AS found FROM plan_jobs WHERE org_id = :org_id AND company_id = CAST(:company_id AS BIGINT)
UNION ALL
SELECT 1 AS found FROM planroom_users WHERE org_id = :org_id AND company_id = CAST(:company_id AS BIGINT)
LIMIT 1
