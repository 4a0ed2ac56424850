-- Organizing action "Contacts" (peer-to-peer actions only): one row per contact the
-- action texted, by contact id. Texted: at least one message from a user to the contact,
-- of this action, whose state is not error (a contact reached only by errored messages
-- is not listed).
--
-- Bound parameters (never formatted into the text):
--   :org_id      the tenant; every table read is filtered by it
--   :action_id   the action (validated against the org and its type before the export)
--   :cutoff      the file's cutoff, a UTC instant: messages and reports before it
-- The contact must be a row of the org's contacts (a list-less friend counts). Tags,
-- custom fields and notes come from the contact's reports of this action: every tag of
-- any of them; per custom field the latest report (created_at, then id) with a
-- non-empty value; the latest report with non-empty notes. The flattener writes tags
-- and custom fields as JSON cells.
-- Portable to DuckDB and PostgreSQL 15+.
WITH texted AS (
    SELECT DISTINCT m.receiver_id AS contact_id
    FROM messages AS m
    JOIN actions AS a ON a.id = m.action_id AND a.org_id = :org_id
    WHERE m.org_id = :org_id
      AND m.action_id = CAST(:action_id AS BIGINT)
      AND m.created_at < CAST(:cutoff AS TIMESTAMPTZ)
      AND m.sender_type = 'User'
      AND m.receiver_type = 'Contact'
      AND m.aasm_state <> 'error'
),
reports AS (
    SELECT r.id, r.reportable_id AS contact_id, r.notes, r.created_at
    FROM outreach_reports AS r
    JOIN texted AS x ON x.contact_id = r.reportable_id
    WHERE r.org_id = :org_id
      AND r.action_id = CAST(:action_id AS BIGINT)
      AND r.reportable_type = 'Contact'
      AND r.created_at < CAST(:cutoff AS TIMESTAMPTZ)
),
contact_tags AS (
    SELECT contact_id,
           array_agg(tag_id ORDER BY tag_id) AS tag_ids,
           array_agg(tag_name ORDER BY tag_id) AS tag_names
    FROM (
        SELECT DISTINCT r.contact_id, t.id AS tag_id, t.name AS tag_name
        FROM reports AS r
        JOIN report_tags AS rt ON rt.report_id = r.id AND rt.org_id = :org_id
        JOIN tags AS t ON t.id = rt.tag_id AND t.org_id = :org_id
    ) AS distinct_tags
    GROUP BY contact_id
),
ranked_values AS (
    SELECT r.contact_id, f.id AS field_id, f.name AS field_name, v.value,
           ROW_NUMBER() OVER (
               PARTITION BY r.contact_id, f.id ORDER BY r.created_at DESC, r.id DESC
           ) AS recency
    FROM reports AS r
    JOIN report_custom_fields AS v ON v.report_id = r.id AND v.org_id = :org_id
    JOIN custom_fields AS f ON f.id = v.custom_field_id AND f.org_id = :org_id
    WHERE v.value IS NOT NULL
      AND v.value <> ''
),
contact_fields AS (
    SELECT contact_id,
           array_agg(field_id ORDER BY field_id) AS field_ids,
           array_agg(field_name ORDER BY field_id) AS field_names,
           array_agg(value ORDER BY field_id) AS field_values
    FROM ranked_values
    WHERE recency = 1
    GROUP BY contact_id
),
ranked_notes AS (
    SELECT contact_id, notes,
           ROW_NUMBER() OVER (PARTITION BY contact_id ORDER BY created_at DESC, id DESC) AS recency
    FROM reports
    WHERE notes IS NOT NULL
      AND notes <> ''
)
SELECT
    c.phone,
    c.first_name,
    c.last_name,
    c.full_name,
    c.voterbase_id,
    c.van_id,
    ct.tag_ids,
    ct.tag_names,
    cf.field_ids,
    cf.field_names,
    cf.field_values,
    n.notes,
    c.id AS contact_id
FROM texted AS x
JOIN contacts AS c ON c.id = x.contact_id AND c.org_id = :org_id
LEFT JOIN contact_tags AS ct ON ct.contact_id = c.id
LEFT JOIN contact_fields AS cf ON cf.contact_id = c.id
LEFT JOIN ranked_notes AS n ON n.contact_id = c.id AND n.recency = 1
ORDER BY c.id
