-- Organizing Engage "Custom fields (all)" (a pivot): one row per reportable (contact or user)
-- with at least one report filed in Engage (action_id NULL), by reportable type then id;
-- the flattener adds one column per custom field with a non-empty value on any of those reports.
--
-- Bound parameters (never formatted into the text):
--   :org_id   the tenant; every table read is filtered by it
--   :cutoff   the file's cutoff, a UTC instant: reports created before it
-- field_ids/field_names/field_values: per custom field, the value on the reportable's
-- latest report (created_at, then id) that has a non-empty value for it; in id order,
-- NULL when none (the row stays, every field cell empty).
-- The person comes from contacts (type Contact) or org_users (type User; voterbase id
-- then empty); a person missing from the org leaves those cells empty and the row is kept.
-- Portable to DuckDB and PostgreSQL 15+.
WITH reports AS (
    SELECT r.id, r.reportable_type, r.reportable_id, r.created_at
    FROM outreach_reports AS r
    WHERE r.org_id = :org_id
      AND r.action_id IS NULL
      AND r.created_at < CAST(:cutoff AS TIMESTAMPTZ)
),
reportables AS (
    SELECT DISTINCT reportable_type, reportable_id FROM reports
),
ranked_values AS (
    SELECT r.reportable_type, r.reportable_id, f.id AS field_id, f.name AS field_name, v.value,
           ROW_NUMBER() OVER (
               PARTITION BY r.reportable_type, r.reportable_id, f.id
               ORDER BY r.created_at DESC, r.id DESC
           ) AS recency
    FROM reports AS r
    JOIN report_custom_fields AS v ON v.report_id = r.id AND v.org_id = :org_id
    JOIN custom_fields AS f ON f.id = v.custom_field_id AND f.org_id = :org_id
    WHERE v.value IS NOT NULL
      AND v.value <> ''
),
reportable_fields AS (
    SELECT reportable_type, reportable_id,
           array_agg(field_id ORDER BY field_id) AS field_ids,
           array_agg(field_name ORDER BY field_id) AS field_names,
           array_agg(value ORDER BY field_id) AS field_values
    FROM ranked_values
    WHERE recency = 1
    GROUP BY reportable_type, reportable_id
)
SELECT
    p.reportable_type,
    p.reportable_id,
    COALESCE(c.full_name, pu.full_name) AS reportable_name,
    COALESCE(c.email, pu.email) AS reportable_email,
    COALESCE(c.phone, pu.phone) AS reportable_phone,
    COALESCE(c.van_id, pu.van_id) AS reportable_van_id,
    c.voterbase_id AS reportable_voterbase_id,
    f.field_ids,
    f.field_names,
    f.field_values
FROM reportables AS p
LEFT JOIN contacts AS c
  ON p.reportable_type = 'Contact' AND c.id = p.reportable_id AND c.org_id = :org_id
LEFT JOIN org_users AS pu
  ON p.reportable_type = 'User' AND pu.id = p.reportable_id AND pu.org_id = :org_id
LEFT JOIN reportable_fields AS f
  ON f.reportable_type = p.reportable_type AND f.reportable_id = p.reportable_id
ORDER BY p.reportable_type, p.reportable_id
