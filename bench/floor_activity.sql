-- The floor for the activity export: the same day's rows joined to users and content,
-- the Category/Action from a kind table, written by DuckDB's own CSV writer.
COPY (
    SELECT
        e.user_id, u.first_name, u.last_name, u.company, u.email,
        coalesce(m.category, e.kind) AS category, m.action,
        coalesce(e.payload ->> 'text', e.payload ->> 'answer', e.payload ->> 'file', '') AS label,
        strftime(e.event_time, '%Y-%m-%dT%H:%M:%S+00:00') AS date_time,
        e.content_id, c.name AS content_name, c.slug AS content_slug
    FROM activity_events AS e
    LEFT JOIN platform_users AS u ON u.user_id = e.user_id AND u.org_id = $org_id
    LEFT JOIN content AS c ON c.content_id = e.content_id AND c.org_id = $org_id
    LEFT JOIN kind_map AS m ON m.kind = e.kind
    WHERE e.org_id = $org_id AND e.event_time >= $window_start AND e.event_time < $window_end
    ORDER BY date_trunc('second', e.event_time), e.event_id
) TO '__OUT__' (HEADER, DELIMITER ',')
