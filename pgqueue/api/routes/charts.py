"""The per-minute series behind the dashboard's charts, for clients that draw their own."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from pgqueue.api import inputs
from pgqueue.api.endpoint import Call, endpoint
from pgqueue.models import to_ms


@endpoint()
async def queue_metrics(call: Call) -> Any:
    """Jobs completed and failed per minute, with the median wait (ready to started) and
    run time of the jobs that finished in it. Counted as jobs finish, so retention does
    not take anything away; minutes with no job are zeros with null medians.
    ---
    summary: A queue's per-minute metrics
    parameters:
      - $ref: "#/components/parameters/Queue"
      - name: minutes
        in: query
        description: How many minutes up to now, 1 to 1440 (a day).
        schema: {type: integer, minimum: 1, maximum: 1440, default: 60}
    responses:
      "200":
        description: "`data` is {queue, minutes, series: [one entry per minute, oldest first]}."
        content:
          application/json:
            schema:
              type: object
              properties:
                success: {type: boolean}
                data:
                  type: object
                  required: [queue, minutes, series]
                  properties:
                    queue: {type: string}
                    minutes: {type: integer}
                    series:
                      type: array
                      items: {$ref: "#/components/schemas/MinuteMetrics"}
      "400": {$ref: "#/components/responses/Error"}
      "422": {$ref: "#/components/responses/Error"}
    """
    queue = inputs.path_text(call.request, "queue")
    minutes = inputs.query_int(call.request, "minutes", 60)
    series = await call.manager.get_minute_metrics(queue, minutes)
    return {
        "queue": queue,
        "minutes": minutes,
        "series": [
            {
                "minute": to_ms(m["minute"]),
                "completed": m["completed"],
                "failed": m["failed"],
                "waitMedianMs": m["wait_median_ms"],
                "runMedianMs": m["run_median_ms"],
            }
            for m in series
        ],
    }


ROUTES = [Route("/queues/{queue}/metrics", queue_metrics, methods=["GET"])]
