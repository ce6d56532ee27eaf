"""The fixed words of the lesson page, in English and in Chinese (中文).

The page's tables, figures and sentences come from the measurements; the
words around them (headings, what each column means, the state of the run)
are here, one dict per language, so that a teacher can project the lesson
in the class's language with ``--lang zh``.  The sentences under "What the
numbers show" are in ``sentences``.  A key missing from a language falls
back to English.
"""

__all__ = ["LANGUAGES", "word"]

ENGLISH = {
    "title": "classicnet lab: the concurrency models side by side",
    "machine": "Machine",
    "status running": "Running: {now}. This page reloads itself as each model finishes.",
    "status starting": "Starting: no model has finished yet. This page reloads itself.",
    "status done": "All runs finished.",
    "workload": "Workload {name}",
    "settings": "{clients} client(s); {duration:g} s per run; {requests} request(s) "
                "per connection; models: {models}",
    "not yet": "Not measured yet.",
    "how to read": "How to read the table",
    "what it shows": "What the numbers show",
    "pictures": "Charts and timelines",
    "workload echo": "tiny round trips: the server does almost nothing",
    "workload slow": "each answer waits --delay ms, like a database call (I/O-bound)",
    "workload work": "each answer costs --cost ms of pure-Python CPU (CPU-bound)",
    "workload churn": "a new connection for every request",
    "workload idle": "connections answered once, then held open and silent: memory "
                     "per connection",
    "notes": ["at once: most connections served at the same moment (seen by the clients);",
              "threads, procs: how many distinct threads and processes served them;",
              "cpu: the server's CPU seconds per second (1.00 = one core busy);",
              "*: within 20% of the instrument's ceiling (limited by the load generator)."],
    "cpu not measured": "cpu not measured: it needs /proc and the resource module (Linux).",
    "skipped": "Skipped: {reasons}.",
    "idle notes": [
        "served: connections answered (the others waited their turn);",
        "rss: all the memory the server's processes hold, shared pages once per process;",
        "pss: the same with each shared page divided among its processes (Linux only);",
        "/conn: growth over the server before any client, per connection served;",
        "threads, procs: the server's threads and processes while it held them."],
    "instrument": "instrument: the load generator reached {figures} against an asyncio "
                  "echo that does no work: the most it can measure here.",
    "svg title": "classicnet lab: workload {name}",
    "svg ceiling": "instrument's ceiling (not drawn): {figures}; * within 20% of it",
    "svg ceiling figure": "{rate:,.0f} req/s with {clients} client(s)",
    "svg rate": "requests per second (more is better)",
    "svg p50": "p50 latency (less is better)",
    "svg p99": "p99 latency (less is better)",
    "svg pss": "memory per connection, PSS (less is better)",
    "svg rss": "memory per connection, RSS (shared pages counted in each process)",
    "svg threads": "threads while holding the connections",
    "svg bar": "{model}, {clients} client(s)",
    "svg timeline": "timeline: {model}, {clients} client(s), {span:.2f} s (grey: "
                    "waiting, colour: being served, paler: part of the time)",
    "svg client": "client {client}",
}

CHINESE = {
    "title": "classicnet 实验：并发模型并排比较",
    "machine": "机器",
    "status running": "正在运行：{now}。每个模型测完，本页会自动刷新。",
    "status starting": "正在启动：还没有模型测完。本页会自动刷新。",
    "status done": "全部运行完毕。",
    "workload": "负载 {name}",
    "settings": "{clients} 个客户端；每次运行 {duration:g} 秒；每个连接 {requests} 个请求；"
                "模型：{models}",
    "not yet": "尚未测量。",
    "how to read": "如何读表",
    "what it shows": "数据说明了什么",
    "pictures": "图表与时间线",
    "workload echo": "极小的往返：服务器几乎什么都不做",
    "workload slow": "每个应答先等待 --delay 毫秒，像一次数据库调用（I/O 密集）",
    "workload work": "每个应答花费 --cost 毫秒的纯 Python CPU 计算（CPU 密集）",
    "workload churn": "每个请求都用一个新连接",
    "workload idle": "每个连接只应答一次，然后保持打开、不再说话：每个连接占多少内存",
    "notes": ["at once（同时）：同一时刻被服务的最多连接数（从客户端看）；",
              "threads, procs（线程、进程）：服务这些连接的不同线程数和进程数；",
              "cpu：服务器每秒用掉的 CPU 秒数（1.00 = 一个核心满载）；",
              "*：在测量仪器上限的 20% 以内（受负载生成器限制，而不是服务器）。"],
    "cpu not measured": "cpu 未测量：它需要 /proc 和 resource 模块（Linux）。",
    "skipped": "跳过：{reasons}。",
    "idle notes": [
        "served（已服务）：得到应答的连接（其余的在等待轮到自己）；",
        "rss（常驻内存）：服务器各进程占用的全部内存，共享页在每个进程里各算一次；",
        "pss（按比例内存）：同上，但每个共享页按共享它的进程数均分（仅 Linux）；",
        "/conn（每连接）：相对没有客户端时的增长，按已服务的连接平均；",
        "threads, procs（线程、进程）：持有这些连接时服务器的线程数和进程数。"],
    "instrument": "测量仪器：对一个什么都不做的 asyncio 回显服务器，负载生成器达到了 "
                  "{figures}：这是它在这里能测到的最大值。",
    "svg title": "classicnet 实验：负载 {name}",
    "svg ceiling": "测量仪器的上限（不画出）：{figures}；* 表示在它的 20% 以内",
    "svg ceiling figure": "{clients} 个客户端时 {rate:,.0f} req/s",
    "svg rate": "每秒请求数（越多越好）",
    "svg p50": "p50 延迟（越少越好）",
    "svg p99": "p99 延迟（越少越好）",
    "svg pss": "每个连接的内存，PSS（越少越好）",
    "svg rss": "每个连接的内存，RSS（共享页在每个进程里各算一次）",
    "svg threads": "持有连接时的线程数",
    "svg bar": "{model}，{clients} 个客户端",
    "svg timeline": "时间线：{model}，{clients} 个客户端，{span:.2f} 秒（灰色：等待，"
                    "彩色：被服务，较浅：只有部分时间）",
    "svg client": "客户端 {client}",
}

LANGUAGES = {"en": ENGLISH, "zh": CHINESE}


def word(lang, key, **values):
    """The text for *key* in *lang* (English where it has none), filled in."""
    text = LANGUAGES.get(lang, ENGLISH).get(key) or ENGLISH[key]
    return text.format(**values) if values else text
