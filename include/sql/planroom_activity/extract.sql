-- Planroom first-access detail: one row per (person, job, scope target, activity) with the
-- time of the first such event ever, up to the end of the report day (a snapshot: a re-run
-- of the same day gives the same rows, and later repeat views change nothing).
--
-- Bound parameters (never formatted into the text):
--   :org_id       the tenant: jobs, users and blast contacts are all filtered by it
--                 (planroom_activity has no org column; it is reached through its job)
--   :company_id   the customer's company, or NULL for the planroom owner (every job)
--   :window_end   end of the report day in the subscription's zone, as a UTC instant
-- Guests (no user, no contact) are never reported. Portable to DuckDB and PostgreSQL 15+.
-- Order: job, first access, then the group's lowest event id (a unique integer, so the
-- order never depends on a database's text collation).
WITH jobs AS (
    SELECT job_id, company_id, name
    FROM plan_jobs
    WHERE org_id = :org_id
      AND (CAST(:company_id AS BIGINT) IS NULL OR company_id = CAST(:company_id AS BIGINT))
),
people AS (
    SELECT 'user' AS person_kind, user_id AS person_id, name, email, company_id,
           CAST(NULL AS TEXT) AS company
    FROM planroom_users
    WHERE org_id = :org_id
    UNION ALL
    SELECT 'blast recipient', contact_id, name, email, CAST(NULL AS BIGINT), company
    FROM blast_contacts
    WHERE org_id = :org_id
),
ev AS (
    SELECT
        a.event_id,
        a.job_id,
        a.scope,
        CASE WHEN a.scope = 'file' THEN a.file_id END AS file_id,
        CASE WHEN a.scope = 'section' THEN a.section END AS section,
        a.activity,
        a.event_time,
        CASE WHEN a.user_id IS NOT NULL THEN 'user' ELSE 'blast recipient' END AS person_kind,
        COALESCE(a.user_id, a.contact_id) AS person_id
    FROM planroom_activity AS a
    JOIN jobs AS j ON j.job_id = a.job_id
    WHERE a.event_time < :window_end
      AND (a.user_id IS NOT NULL OR a.contact_id IS NOT NULL)
),
firsts AS (
    SELECT person_kind, person_id, job_id, scope, file_id, section, activity,
           MIN(event_time) AS first_time, MIN(event_id) AS first_event_id
    FROM ev
    GROUP BY person_kind, person_id, job_id, scope, file_id, section, activity
)
SELECT
    f.job_id,
    j.name AS job_name,
    j.company_id AS job_company_id,
    f.person_kind,
    f.person_id,
    p.name,
    p.email,
    p.company_id,
    p.company,
    f.scope,
    COALESCE(f.section, pf.section) AS section,
    f.file_id,
    pf.name AS file_name,
    f.activity,
    f.first_time
FROM firsts AS f
JOIN jobs AS j ON j.job_id = f.job_id
JOIN people AS p ON p.person_kind = f.person_kind AND p.person_id = f.person_id
LEFT JOIN plan_files AS pf ON pf.file_id = f.file_id AND pf.job_id = f.job_id
ORDER BY f.job_id, f.first_time, f.first_event_id
