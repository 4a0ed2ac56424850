-- Organizing Engage "Reports (all)": one row per outreach report filed in Engage (outside
-- any action, action_id NULL), by reportable type, reportable id, report id.
--
-- Bound parameters (never formatted into the text):
--   :org_id   the tenant; every table read (reports, people, tags, custom fields and
--             their links) is filtered by it
--   :cutoff   the file's cutoff, a UTC instant: reports created before it
-- The reportable person comes from contacts (type Contact) or org_users (type User;
-- voterbase id then empty); a person missing from the org leaves those cells empty and
-- the row is kept. Tags and custom fields arrive in long form (tag_ids/tag_names;
-- field_ids/field_names/field_values: the report's non-empty values), each array in id
-- order; the flattener names them and writes the JSON cells.
-- Portable to DuckDB and PostgreSQL 15+.
WITH reports AS (
    SELECT r.*
    FROM outreach_reports AS r
    WHERE r.org_id = :org_id
      AND r.action_id IS NULL
      AND r.created_at < CAST(:cutoff AS TIMESTAMPTZ)
),
report_tag_names AS (
    SELECT rt.report_id,
           array_agg(t.id ORDER BY t.id) AS tag_ids,
           array_agg(t.name ORDER BY t.id) AS tag_names
    FROM report_tags AS rt
    JOIN reports AS r ON r.id = rt.report_id
    JOIN tags AS t ON t.id = rt.tag_id AND t.org_id = :org_id
    WHERE rt.org_id = :org_id
    GROUP BY rt.report_id
),
report_field_values AS (
    SELECT v.report_id,
           array_agg(f.id ORDER BY f.id) AS field_ids,
           array_agg(f.name ORDER BY f.id) AS field_names,
           array_agg(v.value ORDER BY f.id) AS field_values
    FROM report_custom_fields AS v
    JOIN reports AS r ON r.id = v.report_id
    JOIN custom_fields AS f ON f.id = v.custom_field_id AND f.org_id = :org_id
    WHERE v.org_id = :org_id
      AND v.value IS NOT NULL
      AND v.value <> ''
    GROUP BY v.report_id
)
SELECT
    filer.full_name AS user_full_name,
    filer.email AS user_email,
    r.user_id,
    r.reportable_type,
    r.reportable_id,
    COALESCE(c.full_name, pu.full_name) AS reportable_name,
    COALESCE(c.email, pu.email) AS reportable_email,
    COALESCE(c.phone, pu.phone) AS reportable_phone,
    COALESCE(c.van_id, pu.van_id) AS reportable_van_id,
    c.voterbase_id AS reportable_voterbase_id,
    r.synced_at,
    rt.tag_ids,
    rt.tag_names,
    rf.field_ids,
    rf.field_names,
    rf.field_values,
    r.notes,
    r.id AS report_id
FROM reports AS r
LEFT JOIN org_users AS filer ON filer.id = r.user_id AND filer.org_id = :org_id
LEFT JOIN contacts AS c
  ON r.reportable_type = 'Contact' AND c.id = r.reportable_id AND c.org_id = :org_id
LEFT JOIN org_users AS pu
  ON r.reportable_type = 'User' AND pu.id = r.reportable_id AND pu.org_id = :org_id
LEFT JOIN report_tag_names AS rt ON rt.report_id = r.id
LEFT JOIN report_field_values AS rf ON rf.report_id = r.id
ORDER BY r.reportable_type, r.reportable_id, r.id
