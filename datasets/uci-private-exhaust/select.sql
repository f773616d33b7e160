-- The users who replied to one bot from startDate (included) to endDate (excluded), UTC; a phone number
-- only where the user consented to share it.
SELECT u.device_id  AS "Device Id",
       u.user_name  AS "User Name",
       CASE WHEN u.phone_consent THEN u.phone_number END AS "Phone Number",
       min(t.replied_at) AS "First Reply At",
       max(t.replied_at) AS "Last Reply At",
       count(*)          AS "Replies"
FROM uci.telemetry t
JOIN uci.users u ON u.device_id = t.device_id
WHERE t.conversation_id = %(conversationId)s::uuid
  AND t.replied_at >= %(startDate)s::date AT TIME ZONE 'UTC'
  AND t.replied_at < %(endDate)s::date AT TIME ZONE 'UTC'
GROUP BY u.device_id, u.user_name, u.phone_consent, u.phone_number
ORDER BY u.device_id
