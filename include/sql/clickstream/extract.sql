-- Clickstream events of one org for the sessions that started inside the report window.
--
-- Bound parameters (never formatted into the text):
--   :org_id                      the tenant; every row is filtered by it
--   :window_start, :window_end   the report day in the subscription's zone, as UTC instants
--   :extract_start, :extract_end the window widened by the 90-minute session limit, so a
--                                session crossing midnight is seen whole, and one that began
--                                the evening before is recognised as the previous day's
-- Portable to DuckDB and PostgreSQL 15+ (JSON ->> and date_trunc exist in both).
-- Each property is read only from the events that carry it (the catalogue in the
-- report spec), which spares DuckDB and PostgreSQL parsing every payload two dozen times.
-- Empty context values (locale, user agent, referrer, page URL) arrive as NULL, so "the
-- first event with a non-empty value" is the first non-null one.
-- Rows come ordered by (session start to the second, session, event time, event id), so
-- a reader can cut the stream into chunks of whole sessions already in file order.
WITH ev AS (
    SELECT event_id, session_id, event_time, event_name, properties,
           NULLIF(TRIM(locale), '') AS locale, NULLIF(TRIM(user_agent), '') AS user_agent,
           NULLIF(TRIM(referrer), '') AS referrer, NULLIF(TRIM(page_url), '') AS page_url
    FROM clickstream_events
    WHERE org_id = :org_id
      AND event_time >= :extract_start
      AND event_time < :extract_end
),
sessions AS (
    SELECT session_id, MIN(event_time) AS session_started_at
    FROM ev
    GROUP BY session_id
    HAVING MIN(event_time) >= :window_start AND MIN(event_time) < :window_end
)
SELECT
    date_trunc('second', s.session_started_at) AS session_start_second,
    e.session_id,
    e.event_id,
    e.event_time,
    e.event_name,
    e.locale,
    e.user_agent,
    e.referrer,
    e.page_url,
    CASE WHEN e.event_name = 'tile_click' THEN e.properties ->> 'tile' END AS p_tile,
    CASE WHEN e.event_name = 'widget.address_submitted' THEN e.properties ->> 'address' END AS p_address,
    CASE WHEN e.event_name IN ('widget.address_submitted', 'registration.check_submitted') THEN e.properties ->> 'first_name' END AS p_first_name,
    CASE WHEN e.event_name IN ('widget.address_submitted', 'registration.check_submitted') THEN e.properties ->> 'last_name' END AS p_last_name,
    CASE WHEN e.event_name IN ('widget.address_submitted', 'registration.reminders_submitted') THEN e.properties ->> 'phone' END AS p_phone,
    CASE WHEN e.event_name IN ('widget.address_submitted', 'registration.reminders_submitted') THEN e.properties ->> 'email' END AS p_email,
    CASE WHEN e.event_name = 'widget.address_submitted' THEN e.properties ->> 'opt_in' END AS p_opt_in,
    CASE WHEN e.event_name = 'widget.address_submitted' THEN e.properties ->> 'ballot_id' END AS p_ballot_id,
    CASE WHEN e.event_name IN ('ballot.position_viewed', 'ballot.candidate_viewed', 'ballot.issue_viewed', 'ballot.measure_viewed') THEN e.properties ->> 'id' END AS p_id,
    CASE WHEN e.event_name = 'turnout.method_clicked' THEN e.properties ->> 'method' END AS p_method,
    CASE WHEN e.event_name = 'turnout.date_selected' THEN e.properties ->> 'polling_date' END AS p_polling_date,
    CASE WHEN e.event_name = 'turnout.date_selected' THEN e.properties ->> 'early_voting' END AS p_early_voting,
    CASE WHEN e.event_name = 'turnout.location_selected' THEN e.properties ->> 'polling_place_name' END AS p_polling_place_name,
    CASE WHEN e.event_name = 'turnout.plan_created' THEN e.properties ->> 'vote_at' END AS p_vote_at,
    CASE WHEN e.event_name = 'turnout.plan_created' THEN e.properties ->> 'drop_off' END AS p_drop_off,
    CASE WHEN e.event_name = 'registration.started' THEN e.properties ->> 'choice' END AS p_choice,
    CASE WHEN e.event_name = 'registration.check_submitted' THEN e.properties ->> 'date_of_birth' END AS p_date_of_birth,
    CASE WHEN e.event_name = 'registration.match_result' THEN e.properties ->> 'matched' END AS p_matched,
    CASE WHEN e.event_name = 'registration.match_result' THEN e.properties ->> 'voter_id' END AS p_voter_id,
    CASE WHEN e.event_name = 'registration.match_result' THEN e.properties ->> 'voterbase_id' END AS p_voterbase_id,
    CASE WHEN e.event_name = 'registration.not_matched_clicked' THEN e.properties ->> 'button_text' END AS p_button_text,
    CASE WHEN e.event_name = 'pledge.completed' THEN e.properties ->> 'reasons' END AS p_reasons,
    CASE WHEN e.event_name = 'pledge.completed' THEN e.properties ->> 'name_entered' END AS p_name_entered,
    CASE WHEN e.event_name = 'pledge.completed' THEN e.properties ->> 'name_signed' END AS p_name_signed
FROM ev AS e
JOIN sessions AS s ON s.session_id = e.session_id
ORDER BY session_start_second, e.session_id, e.event_time, e.event_id
