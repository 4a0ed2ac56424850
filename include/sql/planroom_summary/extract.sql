-- Planroom summary: one row per (job, person) who accessed the job up to the end of the
-- report day (a snapshot), with the files they viewed, downloaded and ordered and their
-- first and last activity.
--
-- Bound parameters (never formatted into the text):
--   :org_id       the tenant: jobs, users and blast contacts are all filtered by it
--   :company_id   the customer's company, or NULL for the planroom owner (every job)
--   :window_end   end of the report day in the subscription's zone, as a UTC instant
-- A section download counts every file of that section, a job download every file of the
-- job; each file counts once per activity however often it was accessed. Guests are never
-- reported. Portable to DuckDB and PostgreSQL 15+; ordered by job, first activity, then the
-- person's lowest event id on the job (unique, so no collation dependence).
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
        a.file_id,
        a.section,
        a.activity,
        a.event_time,
        CASE WHEN a.user_id IS NOT NULL THEN 'user' ELSE 'blast recipient' END AS person_kind,
        COALESCE(a.user_id, a.contact_id) AS person_id
    FROM planroom_activity AS a
    JOIN jobs AS j ON j.job_id = a.job_id
    WHERE a.event_time < :window_end
      AND (a.user_id IS NOT NULL OR a.contact_id IS NOT NULL)
),
files_touched AS (
    SELECT DISTINCT e.person_kind, e.person_id, e.job_id, e.activity, pf.file_id
    FROM ev AS e
    JOIN plan_files AS pf
      ON pf.job_id = e.job_id
     AND (
          (e.scope = 'file' AND pf.file_id = e.file_id)
          OR (e.scope = 'section' AND pf.section = e.section)
          OR e.scope = 'job'
     )
),
counts AS (
    SELECT person_kind, person_id, job_id,
           SUM(CASE WHEN activity = 'view' THEN 1 ELSE 0 END) AS files_viewed,
           SUM(CASE WHEN activity = 'download' THEN 1 ELSE 0 END) AS files_downloaded,
           SUM(CASE WHEN activity = 'order' THEN 1 ELSE 0 END) AS files_ordered
    FROM files_touched
    GROUP BY person_kind, person_id, job_id
),
spans AS (
    SELECT person_kind, person_id, job_id,
           MIN(event_time) AS first_activity, MAX(event_time) AS last_activity,
           MIN(event_id) AS first_event_id
    FROM ev
    GROUP BY person_kind, person_id, job_id
)
SELECT
    s.job_id,
    j.name AS job_name,
    j.company_id AS job_company_id,
    s.person_kind,
    s.person_id,
    p.name,
    p.email,
    p.company_id,
    p.company,
    COALESCE(c.files_viewed, 0) AS files_viewed,
    COALESCE(c.files_downloaded, 0) AS files_downloaded,
    COALESCE(c.files_ordered, 0) AS files_ordered,
    s.first_activity,
    s.last_activity
FROM spans AS s
JOIN jobs AS j ON j.job_id = s.job_id
JOIN people AS p ON p.person_kind = s.person_kind AND p.person_id = s.person_id
LEFT JOIN counts AS c
  ON c.person_kind = s.person_kind AND c.person_id = s.person_id AND c.job_id = s.job_id
ORDER BY s.job_id, s.first_activity, s.first_event_id
