-- The floor for the clickstream export: the same day flattened by one hand-written DuckDB
-- aggregation, written with DuckDB's own CSV writer. No parsers (user agent, address,
-- URL) and no formula guard: it is the cost of reading, grouping and writing alone.
COPY (
    WITH ev AS (
        SELECT * FROM clickstream_events
        WHERE org_id = $org_id AND event_time >= $extract_start AND event_time < $extract_end
    ),
    s AS (
        SELECT
            session_id,
            min(event_time) AS session_start,
            arg_min(locale, event_time) FILTER (WHERE locale <> '') AS locale,
            arg_min(user_agent, event_time) FILTER (WHERE user_agent <> '') AS user_agent,
            arg_min(referrer, event_time) FILTER (WHERE referrer <> '') AS initial_referrer,
            arg_min(page_url, event_time) FILTER (WHERE page_url LIKE '%utm_%') AS page_url,
            list(properties ->> 'tile' ORDER BY event_time) FILTER (WHERE event_name = 'tile_click') AS tiles,
            count(*) FILTER (WHERE event_name = 'widget.address_submitted') AS address_form_submitted,
            arg_max(properties, event_time) FILTER (WHERE event_name = 'widget.address_submitted') AS widget,
            count(DISTINCT properties ->> 'id') FILTER (WHERE event_name = 'ballot.position_viewed') AS n_pos,
            count(DISTINCT properties ->> 'id') FILTER (WHERE event_name = 'ballot.candidate_viewed') AS n_cand,
            count(DISTINCT properties ->> 'id') FILTER (WHERE event_name = 'ballot.issue_viewed') AS n_iss,
            count(DISTINCT properties ->> 'id') FILTER (WHERE event_name = 'ballot.measure_viewed') AS n_meas,
            bool_or(event_name = 'turnout.get_started_clicked') AS get_started,
            bool_or(event_name = 'turnout.method_clicked' AND properties ->> 'method' = 'mail') AS by_mail,
            bool_or(event_name = 'turnout.method_clicked' AND properties ->> 'method' = 'in_person') AS in_person,
            arg_max(properties ->> 'method', event_time) FILTER (WHERE event_name = 'turnout.method_clicked') AS last_clicked,
            arg_max(properties, event_time) FILTER (WHERE event_name = 'turnout.date_selected') AS date_sel,
            arg_max(properties, event_time) FILTER (WHERE event_name = 'turnout.plan_created') AS plan,
            arg_max(properties ->> 'choice', event_time) FILTER (WHERE event_name = 'registration.started') AS registered,
            arg_max(properties, event_time) FILTER (WHERE event_name = 'registration.check_submitted') AS check_sub,
            arg_max(properties, event_time) FILTER (WHERE event_name = 'registration.match_result') AS match_res,
            arg_max(properties, event_time) FILTER (WHERE event_name = 'registration.reminders_submitted') AS reminders,
            bool_or(event_name = 'vbm.emailed') AS emailed,
            bool_or(event_name = 'vbm.portal_clicked') AS portal,
            bool_or(event_name = 'vbm.summary_page_reached') AS summary_page,
            arg_max(properties, event_time) FILTER (WHERE event_name = 'pledge.completed') AS pledge
        FROM ev GROUP BY session_id
        HAVING min(event_time) >= $window_start AND min(event_time) < $window_end
    )
    SELECT
        session_id, strftime(session_start, '%Y-%m-%dT%H:%M:%S+00:00') AS session_start,
        strftime(session_start, '%Y-%m-%d') AS ds, widget ->> 'ballot_id' AS ballot_id, locale, user_agent,
        to_json(tiles) AS election_center_tiles, initial_referrer, page_url, address_form_submitted,
        widget ->> 'address' AS address, widget ->> 'first_name' AS first_name, widget ->> 'last_name' AS last_name,
        widget ->> 'phone' AS phone, widget ->> 'email' AS email, widget ->> 'opt_in' AS opt_in,
        n_pos, n_cand, n_iss, n_meas, get_started, by_mail, in_person, last_clicked,
        date_sel ->> 'polling_date' AS polling_date, date_sel ->> 'early_voting' AS early_voting,
        plan ->> 'vote_at' AS vote_at, plan ->> 'drop_off' AS drop_off, registered,
        check_sub ->> 'first_name' AS first_name_registration, check_sub ->> 'date_of_birth' AS dob,
        match_res ->> 'matched' AS matched, match_res ->> 'voter_id' AS voter_id,
        reminders ->> 'email' AS email_reminders, emailed, portal, summary_page,
        pledge ->> 'reasons' AS pledge_reasons, pledge ->> 'name_entered' AS pledged_name_entered
    FROM s ORDER BY s.session_start, session_id
) TO '__OUT__' (HEADER, DELIMITER ',')
