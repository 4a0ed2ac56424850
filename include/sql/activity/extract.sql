-- One row per activity of one org inside the report window, with its user and content.
--
-- Bound parameters (never formatted into the text):
--   :org_id                      the tenant; every table is filtered by it
--   :window_start, :window_end   the report day in the subscription's zone, as UTC instants
--   :content_id                  one content page (the per-page report), or NULL for the site
-- Portable to DuckDB and PostgreSQL 15+ (JSON ->>, date_trunc and || exist in both).
-- Rows come ordered by the Date/Time column (the second) and then the event id, which is
-- the file's order; the flattener keeps it.
SELECT
    e.event_id,
    e.event_time,
    e.user_id,
    u.first_name,
    u.last_name,
    u.company,
    u.email,
    e.kind,
    e.content_id,
    CASE
        WHEN c.content_type = 'BreakoutOTSession'
            THEN 'Breakout from ' || COALESCE(p.name, '') || ' #' || CAST(c.content_id AS TEXT)
        ELSE c.name
    END AS content_name,
    c.slug AS content_slug,
    c.content_type,
    e.payload ->> 'text' AS p_text,
    e.payload ->> 'answer' AS p_answer,
    e.payload ->> 'rating' AS p_rating,
    e.payload ->> 'emoji' AS p_emoji,
    e.payload ->> 'post_id' AS p_post_id,
    e.payload ->> 'tag' AS p_tag,
    e.payload ->> 'topic' AS p_topic,
    e.payload ->> 'file' AS p_file,
    e.payload ->> 'report' AS p_report,
    e.payload ->> 'tab' AS p_tab,
    e.payload ->> 'certificate' AS p_certificate,
    e.payload ->> 'notification' AS p_notification,
    e.payload ->> 'question_type' AS p_question_type,
    e.payload ->> 'meeting_type' AS p_meeting_type,
    e.payload ->> 'viewed_user' AS p_viewed_user,
    e.payload ->> 'slug' AS p_slug,
    e.payload ->> 'url' AS p_url,
    e.payload ->> 'progress' AS p_progress
FROM activity_events AS e
LEFT JOIN platform_users AS u ON u.user_id = e.user_id AND u.org_id = :org_id
LEFT JOIN content AS c ON c.content_id = e.content_id AND c.org_id = :org_id
LEFT JOIN content AS p ON p.content_id = c.parent_id AND p.org_id = :org_id
WHERE e.org_id = :org_id
  AND e.event_time >= :window_start
  AND e.event_time < :window_end
  AND (CAST(:content_id AS BIGINT) IS NULL OR e.content_id = CAST(:content_id AS BIGINT))
ORDER BY date_trunc('second', e.event_time), e.event_id
