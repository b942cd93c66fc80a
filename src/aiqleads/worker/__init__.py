"""Background work: tasks, the outbox they are enqueued through, and where they run.

* Define a task in your domain's `tasks.py` with `@task("domain.verb")` (an async function
  whose first argument is the `TaskContext`), and list the module in
  `aiqleads.worker.registry.TASK_MODULES`.
* Enqueue it inside the transaction of the work that causes it:
  `await my_task.enqueue(session, order_id=…)` (or `enqueue_at(session, when, …)`). The task is
  a row of the `task_outbox` table written in that transaction: it runs once the transaction
  commits and never if it rolls back, and a crash between the commit and the hand-over to the
  broker loses nothing (the relay sends it later).
* Where it runs: with AIQ_REDIS_URL, on Dramatiq with the Redis broker, in the processes that
  `aiqleads worker` starts (which also relays the outbox and runs the schedule); without it, in
  the API process, by the in-process dispatcher the app's lifespan starts.
* A failed task is retried with exponential backoff and jitter (AIQ_WORKER__MAX_RETRIES,
  __MIN_BACKOFF_SECONDS, __MAX_BACKOFF_SECONDS); past its retries its row stays as `dead` with
  the last error (`aiqleads tasks dead`, `aiqleads tasks retry ID`), and on Dramatiq the message
  also goes to Dramatiq's dead-letter queue.
"""

from aiqleads.worker.context import TaskContext
from aiqleads.worker.registry import TASK_MODULES, Task, task

__all__ = ["TASK_MODULES", "Task", "TaskContext", "task"]
