-- One bot's conversation events from startDate (included) to endDate (excluded), UTC, oldest first.
SELECT t.event_id       AS "Message Id",
       t.conversation_id AS "Conversation Id",
       t.channel        AS "Channel",
       t.device_id      AS "Device Id",
       t.question       AS "Question",
       t.options        AS "Question Options",
       t.reply          AS "User Reply",
       t.sent_at        AS "Question Sent At",
       t.replied_at     AS "Reply Received At"
FROM uci.telemetry t
WHERE t.conversation_id = %(conversationId)s::uuid
  AND t.replied_at >= %(startDate)s::date AT TIME ZONE 'UTC'
  AND t.replied_at < %(endDate)s::date AT TIME ZONE 'UTC'
ORDER BY t.replied_at, t.event_id
