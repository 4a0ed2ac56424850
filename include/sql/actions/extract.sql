-- Organizing "All actions": one row per action (Deleted ones included) with its
-- recipients' counters, by action id.
--
-- Bound parameters (never formatted into the text):
--   :org_id   the tenant; actions, lists and recipients are each filtered by it
--   :cutoff   the file's cutoff, a UTC instant: actions created before it, counters over
--             the recipients the action was sent to before it
-- completed sums completions (one user finishing twice counts 2); performed sums the
-- people reached. An action sent to nobody has zero counters, not empty ones.
-- contact_list_id is as stored; its name is empty when the list is not the org's.
-- Portable to DuckDB and PostgreSQL 15+ (sums cast to BIGINT: DuckDB's are 128-bit).
WITH recipients AS (
    SELECT
        r.action_id,
        COUNT(*) AS users_sent,
        CAST(SUM(CASE WHEN r.saw THEN 1 ELSE 0 END) AS BIGINT) AS users_saw,
        CAST(SUM(CASE WHEN r.started THEN 1 ELSE 0 END) AS BIGINT) AS users_started,
        CAST(SUM(r.completed_count) AS BIGINT) AS completed,
        CAST(SUM(r.performed_count) AS BIGINT) AS performed
    FROM action_recipients AS r
    WHERE r.org_id = :org_id
      AND r.created_at < CAST(:cutoff AS TIMESTAMPTZ)
    GROUP BY r.action_id
)
SELECT
    a.id AS action_id,
    a.created_at,
    a.updated_at,
    a.published_at,
    a.title,
    a.description,
    a.action_type,
    a.aasm_state,
    a.privacy,
    a.contact_list_id,
    l.name AS contact_list_name,
    COALESCE(r.users_sent, 0) AS users_sent,
    COALESCE(r.users_saw, 0) AS users_saw,
    COALESCE(r.users_started, 0) AS users_started,
    COALESCE(r.completed, 0) AS completed,
    COALESCE(r.performed, 0) AS performed
FROM actions AS a
LEFT JOIN contact_lists AS l ON l.id = a.contact_list_id AND l.org_id = :org_id
LEFT JOIN recipients AS r ON r.action_id = a.id
WHERE a.org_id = :org_id
  AND a.created_at < CAST(:cutoff AS TIMESTAMPTZ)
ORDER BY a.id
