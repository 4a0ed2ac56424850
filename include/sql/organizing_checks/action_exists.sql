-- The scope check of a report run on one action, before a run or a subscription: the
-- action's type when it is one of the org's actions (a Deleted one included), no row
-- otherwise, so an action of another org reads exactly like one that does not exist.
-- Looked up without a cutoff: the scope is not a row of the file.
-- Shared by the action reports (include/sql/<report>/action_exists.sql links here).
-- Bound parameters: :org_id, :action_id.
SELECT a.action_type
FROM actions AS a
WHERE a.org_id = :org_id
  AND a.id = CAST(:action_id AS BIGINT)
