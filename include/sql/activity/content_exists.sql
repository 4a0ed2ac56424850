-- The scope check of the per-page activity report: one row when the content page is one
-- of the org's, none otherwise (another org's page reads exactly like an unknown one).
-- Bound parameters: :org_id, :content_id.
SELECT 1 AS found
FROM content AS c
WHERE c.org_id = :org_id
  AND c.content_id = CAST(:content_id AS BIGINT)
