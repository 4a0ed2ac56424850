-- Organizing "Contacts": the contacts of one contact list, by contact id. Friends
-- (contacts in no list) are in no contacts file.
--
-- Bound parameters (never formatted into the text):
--   :org_id            the tenant; contacts and the list are filtered by it
--   :contact_list_id   the list (validated against the org before the export runs;
--                      checked again here so a list of another org gives no rows)
--   :cutoff            the file's cutoff, a UTC instant: contacts created before it
-- Portable to DuckDB and PostgreSQL 15+.
SELECT
    c.id AS contact_id,
    c.phone,
    c.first_name,
    c.last_name,
    c.full_name,
    c.email,
    c.voterbase_id,
    c.van_id,
    c.created_at
FROM contacts AS c
JOIN contact_lists AS l ON l.id = c.contact_list_id AND l.org_id = :org_id
WHERE c.org_id = :org_id
  AND c.contact_list_id = CAST(:contact_list_id AS BIGINT)
  AND c.created_at < CAST(:cutoff AS TIMESTAMPTZ)
ORDER BY c.id
