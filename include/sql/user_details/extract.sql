-- Organizing "User details": one row per (action, sending user, receiving contact) with
-- at least one message from the user to the contact; by action, user, contact.
--
-- Bound parameters (never formatted into the text):
--   :org_id   the tenant; messages, actions and users are each filtered by it
--   :cutoff   the file's cutoff, a UTC instant: messages created before it
-- receiver_name/_number/_van_id come from the pair's latest message (created_at, then
-- id); messages_sent counts every message of the pair, errored ones included;
-- script_types lists the pair's distinct non-null script types (the flattener writes
-- them as a JSON array in code-point order). The user columns are the sender's
-- org_users row (empty when the sender is not a user of the org). A contact's own
-- messages are not pairs. A message whose action is not the org's is ignored.
-- Portable to DuckDB and PostgreSQL 15+.
WITH pair_messages AS (
    SELECT m.id, m.action_id, m.sender_id, m.receiver_id, m.receiver_name, m.receiver_number,
           m.receiver_van_id, m.script_type, m.created_at
    FROM messages AS m
    JOIN actions AS a ON a.id = m.action_id AND a.org_id = :org_id
    WHERE m.org_id = :org_id
      AND m.created_at < CAST(:cutoff AS TIMESTAMPTZ)
      AND m.sender_type = 'User'
      AND m.receiver_type = 'Contact'
),
ranked AS (
    SELECT pm.*,
           ROW_NUMBER() OVER (
               PARTITION BY pm.action_id, pm.sender_id, pm.receiver_id
               ORDER BY pm.created_at DESC, pm.id DESC
           ) AS recency
    FROM pair_messages AS pm
),
pairs AS (
    SELECT action_id, sender_id, receiver_id,
           COUNT(*) AS messages_sent,
           array_agg(DISTINCT script_type) FILTER (WHERE script_type IS NOT NULL) AS script_types
    FROM pair_messages
    GROUP BY action_id, sender_id, receiver_id
)
SELECT
    a.title AS action_name,
    a.action_type,
    u.full_name AS sender_name,
    p.sender_id AS sender_user_id,
    u.van_id AS sender_van_id,
    l.receiver_name,
    l.receiver_number,
    l.receiver_van_id,
    p.script_types,
    u.created_at,
    u.updated_at,
    u.last_seen_at,
    u.last_active_at,
    u.city,
    u.state,
    u.supplied_city,
    u.supplied_state,
    p.messages_sent,
    p.action_id,
    p.receiver_id
FROM pairs AS p
JOIN ranked AS l
  ON l.action_id = p.action_id AND l.sender_id = p.sender_id AND l.receiver_id = p.receiver_id
 AND l.recency = 1
JOIN actions AS a ON a.id = p.action_id AND a.org_id = :org_id
LEFT JOIN org_users AS u ON u.id = p.sender_id AND u.org_id = :org_id
ORDER BY p.action_id, p.sender_id, p.receiver_id
