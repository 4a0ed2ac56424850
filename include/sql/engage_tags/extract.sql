-- Organizing Engage "Tags (all)" (a pivot): one row per reportable (contact or user)
-- with at least one report filed in Engage (action_id NULL), by reportable type then id;
-- the flattener adds one column per tag linked to any of those reports.
--
-- Bound parameters (never formatted into the text):
--   :org_id   the tenant; every table read is filtered by it
--   :cutoff   the file's cutoff, a UTC instant: reports created before it
-- tag_ids/tag_names: the distinct tags on any of the reportable's reports, in id order
-- (NULL when none: the row stays, every tag cell empty).
-- The person comes from contacts (type Contact) or org_users (type User; voterbase id
-- then empty); a person missing from the org leaves those cells empty and the row is kept.
-- Portable to DuckDB and PostgreSQL 15+.
WITH reports AS (
    SELECT r.id, r.reportable_type, r.reportable_id
    FROM outreach_reports AS r
    WHERE r.org_id = :org_id
      AND r.action_id IS NULL
      AND r.created_at < CAST(:cutoff AS TIMESTAMPTZ)
),
reportables AS (
    SELECT DISTINCT reportable_type, reportable_id FROM reports
),
reportable_tags AS (
    SELECT reportable_type, reportable_id,
           array_agg(tag_id ORDER BY tag_id) AS tag_ids,
           array_agg(tag_name ORDER BY tag_id) AS tag_names
    FROM (
        SELECT DISTINCT r.reportable_type, r.reportable_id, t.id AS tag_id, t.name AS tag_name
        FROM reports AS r
        JOIN report_tags AS rt ON rt.report_id = r.id AND rt.org_id = :org_id
        JOIN tags AS t ON t.id = rt.tag_id AND t.org_id = :org_id
    ) AS distinct_tags
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
    t.tag_ids,
    t.tag_names
FROM reportables AS p
LEFT JOIN contacts AS c
  ON p.reportable_type = 'Contact' AND c.id = p.reportable_id AND c.org_id = :org_id
LEFT JOIN org_users AS pu
  ON p.reportable_type = 'User' AND pu.id = p.reportable_id AND pu.org_id = :org_id
LEFT JOIN reportable_tags AS t
  ON t.reportable_type = p.reportable_type AND t.reportable_id = p.reportable_id
ORDER BY p.reportable_type, p.reportable_id
