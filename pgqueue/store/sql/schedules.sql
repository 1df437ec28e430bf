-- name: upsert_schedule
-- The same key is the same schedule: a second call with the same definition writes
-- nothing (so schedulers have nothing to re-read), a changed one bumps `version`. When
-- the timing changes, slots up to now count as handled, so the new timing never fires
-- for a moment before it existed.
INSERT INTO pgqueue_schedules AS s
    (key, queue, name, cron, every_ms, tz, data, opts, limit_count, start_at, end_at)
VALUES (%(key)s, %(queue)s, %(name)s, %(cron)s, %(every_ms)s, %(tz)s, %(data)s::jsonb,
        %(opts)s::jsonb, %(limit_count)s, %(start_at)s, %(end_at)s)
ON CONFLICT (key) DO UPDATE
SET queue = excluded.queue, name = excluded.name, cron = excluded.cron,
    every_ms = excluded.every_ms, tz = excluded.tz, data = excluded.data, opts = excluded.opts,
    limit_count = excluded.limit_count, start_at = excluded.start_at, end_at = excluded.end_at,
    fired_through = CASE
        WHEN (s.cron, s.every_ms, s.tz, s.start_at)
             IS DISTINCT FROM (excluded.cron, excluded.every_ms, excluded.tz, excluded.start_at)
        THEN greatest(s.fired_through, now())
        ELSE s.fired_through
    END,
    version = s.version + 1,
    updated_at = now()
WHERE (s.queue, s.name, s.cron, s.every_ms, s.tz, s.data, s.opts, s.limit_count, s.start_at,
       s.end_at)
      IS DISTINCT FROM
      (excluded.queue, excluded.name, excluded.cron, excluded.every_ms, excluded.tz,
       excluded.data, excluded.opts, excluded.limit_count, excluded.start_at, excluded.end_at)
RETURNING key;

-- name: list_schedules
-- Every scheduler reads this every couple of seconds; schedules are few, so it reads
-- them all and compares versions with what it has loaded.
SELECT key, queue, name, cron, every_ms, tz, data, opts, limit_count, start_at, end_at,
       fired_count, fired_through, last_fired_at, version, created_at, updated_at
FROM pgqueue_schedules
ORDER BY queue, name, key;

-- name: remove_schedule
-- Once this commits no scheduler can fire the schedule again: a fire claims its slot
-- on the row, and the row is gone.
DELETE FROM pgqueue_schedules WHERE key = %(key)s RETURNING key;

-- name: claim_slot
-- The one statement that decides whether a slot fires. Schedulers race to move
-- `fired_through` up to the slot; the row lock makes the losers re-check the condition
-- against the winner's row and update nothing. The timing is compared too, so a
-- scheduler that has not yet seen a changed schedule cannot fire the old timing.
UPDATE pgqueue_schedules
SET fired_through = %(slot)s, last_fired_at = %(slot)s, fired_count = fired_count + 1
WHERE key = %(key)s
  AND fired_through < %(slot)s
  AND cron IS NOT DISTINCT FROM %(cron)s
  AND every_ms IS NOT DISTINCT FROM %(every_ms)s
  AND tz = %(tz)s
  AND (limit_count IS NULL OR fired_count < limit_count)
  AND (start_at IS NULL OR %(slot)s >= start_at)
  AND (end_at IS NULL OR %(slot)s <= end_at)
RETURNING key, queue, name, data, opts, fired_count, limit_count;
