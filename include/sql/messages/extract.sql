-- Organizing "Messages": one row per message, both directions, any state, of the org
-- or of one action; by created_at (to the second, as written) then message id.
--
-- Bound parameters (never formatted into the text):
--   :org_id      the tenant; messages and actions are each filtered by it
--   :action_id   one action, or NULL for every action of the org
--   :cutoff      the file's cutoff, a UTC instant: messages created before it
-- P2P (TextaList) rules: sender_number is always empty (volunteers text from a pool
-- number); aasm_state is shown for P2P messages only, empty for every other type.
-- Both are decided here so a stored pool number never leaves the database.
-- A message whose action is not a row of the org is ignored.
-- Portable to DuckDB and PostgreSQL 15+.
SELECT
    a.id AS action_id,
    a.title AS action_name,
    a.action_type,
    a.published_at AS action_published_at,
    m.sender_name,
    m.sender_id,
    m.sender_type,
    CASE WHEN a.action_type = 'TextaList' THEN NULL ELSE m.sender_number END AS sender_number,
    m.receiver_name,
    m.receiver_id,
    m.receiver_type,
    m.receiver_number,
    m.receiver_van_id,
    CASE WHEN a.action_type = 'TextaList' THEN m.aasm_state END AS aasm_state,
    m.error_code,
    m.twilio_status,
    m.body,
    m.script_type,
    m.id AS message_id,
    m.created_at
FROM messages AS m
JOIN actions AS a ON a.id = m.action_id AND a.org_id = :org_id
WHERE m.org_id = :org_id
  AND m.created_at < CAST(:cutoff AS TIMESTAMPTZ)
  AND (CAST(:action_id AS BIGINT) IS NULL OR m.action_id = CAST(:action_id AS BIGINT))
ORDER BY date_trunc('second', m.created_at), m.id
