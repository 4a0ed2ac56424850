-- The scope check of the contacts report, before a run or a subscription: one row when
-- the list is one of the org's contact lists, none otherwise (another org's list reads
-- exactly like one that does not exist). Looked up without a cutoff.
-- Bound parameters: :org_id, :contact_list_id.
SELECT 1 AS found
FROM contact_lists AS l
WHERE l.org_id = :org_id
  AND l.id = CAST(:contact_list_id AS BIGINT)
