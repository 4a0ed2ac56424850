-- Clickstream events of one org for the sessions that started inside the report window.
--
-- Bound parameters (never formatted into the text):
--   :org_id                      the tenant; every row is filtered by it
--   :window_start, :window_end   the report day in the subscription's zone, as UTC instants
--   :extract_start, :extract_end the window widened by the 90-minute session limit, so a
--                                session crossing midnight is seen whole, and one that began
--                                the evening before is recognised as the previous day's
-- Portable to DuckDB and PostgreSQL 15+ (JSON ->> and date_trunc exist in both).
-- Rows come ordered by (session start to the second, session, event time, event id), so
-- a reader can cut the stream into chunks of whole sessions already in file order.
WITH ev AS (
    SELECT event_id, session_id, event_time, event_name, properties,
           locale, user_agent, referrer, page_url
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
    e.properties ->> 'tile' AS p_tile,
    e.properties ->> 'address' AS p_address,
    e.properties ->> 'first_name' AS p_first_name,
    e.properties ->> 'last_name' AS p_last_name,
    e.properties ->> 'phone' AS p_phone,
    e.properties ->> 'email' AS p_email,
    e.properties ->> 'opt_in' AS p_opt_in,
    e.properties ->> 'ballot_id' AS p_ballot_id,
    e.properties ->> 'id' AS p_id,
    e.properties ->> 'method' AS p_method,
    e.properties ->> 'polling_date' AS p_polling_date,
    e.properties ->> 'early_voting' AS p_early_voting,
    e.properties ->> 'polling_place_name' AS p_polling_place_name,
    e.properties ->> 'vote_at' AS p_vote_at,
    e.properties ->> 'drop_off' AS p_drop_off,
    e.properties ->> 'choice' AS p_choice,
    e.properties ->> 'date_of_birth' AS p_date_of_birth,
    e.properties ->> 'matched' AS p_matched,
    e.properties ->> 'voter_id' AS p_voter_id,
    e.properties ->> 'voterbase_id' AS p_voterbase_id,
    e.properties ->> 'button_text' AS p_button_text,
    e.properties ->> 'reasons' AS p_reasons,
    e.properties ->> 'name_entered' AS p_name_entered,
    e.properties ->> 'name_signed' AS p_name_signed
FROM ev AS e
JOIN sessions AS s ON s.session_id = e.session_id
ORDER BY session_start_second, e.session_id, e.event_time, e.event_id
