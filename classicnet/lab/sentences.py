"""The lab's sentences, in English and in Chinese (中文), made from the numbers.

``conclusions`` decides *which* sentences this run's numbers support; the
words are here, one template per sentence (or per part of one) and per
language, so that the lesson page can say them in the class's language
(``--lang zh``).  A value that is itself words comes in both languages
(``names`` and ``names_zh``).  A ``Sentence`` is the English text, a ``str`` like any
other (printed, compared, written to JSON), that also remembers its parts
and can be said again in another language::

    >>> s = Sentence("threading started", threads=12, reused=4)
    >>> s
    'threading started 12 threads, one per connection; the pool reused 4.'
    >>> s.say("zh")
    'threading 启动了 12 个线程，每个连接一个；线程池复用了 4 个。'
"""

__all__ = ["SENTENCES", "Sentence"]

SENTENCES = {
    "all alike": (
        "With {clients} client(s), every model served about as many requests "
        "(within 10% of {rate:,.0f}/s).",
        "{clients} 个客户端时，每种模型服务的请求数都差不多（在 {rate:,.0f}/s 的 10% 以内）。"),
    "leaders": (
        "With {clients} client(s), {names} served the most requests ({rates}/s)",
        "{clients} 个客户端时，{names_zh} 服务的请求最多（{rates_zh}/s）"),
    "times plain": (", {times:.1f}x plain", "，是 plain 的 {times:.1f} 倍"),
    "end": (".", "。"),
    "plain one at a time": (
        "plain served one connection at a time (at most 1 at once): the others "
        "waited their turn",
        "plain 一次只服务一个连接（同时最多 1 个）：其他连接在等待轮到自己"),
    "so its p99": (
        ", so its p99 latency was {plain:,.1f} ms against {best:,.1f} ms for {model}",
        "，所以它的 p99 延迟是 {plain:,.1f} 毫秒，而 {model} 是 {best:,.1f} 毫秒"),
    "threads wait": (
        "threading served {at_once} connections at once and was {ratio:.1f}x faster "
        "than plain while using only {cores:.2f} of a core: its threads spent their "
        "time waiting, and a waiting thread (sleep, recv) releases the GIL, so the "
        "waits overlap.",
        "threading 同时服务了 {at_once} 个连接，比 plain 快 {ratio:.1f} 倍，却只用了 "
        "{cores:.2f} 个核心：它的线程把时间花在等待上，而等待中的线程（sleep、recv）"
        "会释放 GIL，所以等待可以重叠。"),
    "threads cost": (
        "threading was slower than plain ({ratio:.2f}x): each answer costs so little "
        "that starting {threads} threads, one per connection, and handing the GIL from "
        "thread to thread cost more than serving clients together saves.",
        "threading 比 plain 慢（{ratio:.2f} 倍）：每个应答都很便宜，所以启动 {threads} "
        "个线程（每个连接一个）、在线程之间传递 GIL 的代价，超过了同时服务客户端省下的。"),
    "gil": (
        "threading was no faster than plain ({ratio:.2f}x) although it served "
        "{at_once} connections at once{used}: only the thread that holds the GIL runs "
        "Python code, so threads in one process compute one at a time.",
        "threading 并不比 plain 快（{ratio:.2f} 倍），尽管它同时服务了 {at_once} 个"
        "连接{used_zh}：只有持有 GIL 的线程才能运行 Python 代码，所以一个进程里的线程只能"
        "轮流计算。"),
    "cores between them": (", using {cores:.2f} core(s) between them",
                           "，一共用了 {cores:.2f} 个核心"),
    "max children": (
        "forking served at most {at_once} connections at once: max_children is "
        "{limit}, so the other clients waited for a child to finish.",
        "forking 同时最多服务 {at_once} 个连接：max_children 是 {limit}，所以其他客户端"
        "要等一个子进程结束。"),
    "parallel": (
        "forking used {cores:.2f} cores: each child process has its own interpreter "
        "and its own GIL, so children compute in parallel",
        "forking 用了 {cores:.2f} 个核心：每个子进程有自己的解释器和自己的 GIL，所以"
        "子进程可以并行计算"),
    "times threading": (" ({times:.1f}x threading)", "（是 threading 的 {times:.1f} 倍）"),
    "busy": (
        "  It did not get all {cores} cores: the machine was busy (load average "
        "{load:.1f} on {cores} cores, the load generator and other programs included).",
        "它没有拿到全部 {cores} 个核心：机器很忙（{cores} 个核心上平均负载 {load:.1f}，"
        "包括负载生成器和其他程序）。"),
    "busy forking": (
        "forking had {at_once} processes to run but used only {used:.2f} cores: the "
        "machine was busy (load average {load:.1f} on {cores} cores, the load "
        "generator and other programs included), so its children could not have "
        "every core.",
        "forking 有 {at_once} 个进程要运行，却只用了 {used:.2f} 个核心：机器很忙"
        "（{cores} 个核心上平均负载 {load:.1f}，包括负载生成器和其他程序），所以它的"
        "子进程拿不到每个核心。"),
    "forks cost": (
        "forking was {slower:.1f}x slower than threading: it started {processes} "
        "processes ({per_second:,.0f} per second), one per connection, and a fork "
        "costs far more than starting a thread.",
        "forking 比 threading 慢 {slower:.1f} 倍：它启动了 {processes} 个进程（每秒 "
        "{per_second:,.0f} 个），每个连接一个，而一次 fork 比启动一个线程贵得多。"),
    "prefork forked once": (
        "prefork served {times:.1f}x forking's requests: its {processes} processes were "
        "forked once, at start-up, where forking started {forked}, one per connection.",
        "prefork 服务的请求是 forking 的 {times:.1f} 倍：它的 {processes} 个进程只在启动时 "
        "fork 一次，而 forking 启动了 {forked} 个，每个连接一个。"),
    "prefork parallel": (
        "prefork served {times:.1f}x threading's requests with {cores:.2f} cores: its "
        "workers are processes, each with its own GIL, so they compute in parallel as "
        "forking's children do.",
        "prefork 用 {cores:.2f} 个核心服务的请求是 threading 的 {times:.1f} 倍：它的工作"
        "进程是进程，各有自己的 GIL，所以像 forking 的子进程一样并行计算。"),
    "prefork busy": (
        "  It did not get every core: the machine was busy (load average {load:.1f}).",
        "它没有拿到每个核心：机器很忙（平均负载 {load:.1f}）。"),
    "prefork backlog": (
        "prefork served at most {at_once} connections at once with {workers} workers; "
        "the other clients waited in the listen backlog.",
        "prefork 用 {workers} 个工作进程同时最多服务 {at_once} 个连接；其他客户端在监听"
        "队列 backlog 里等待。"),
    "prefork shares": (
        "prefork's workers served {shares} connections: each new connection woke one "
        "worker waiting in accept(), never all of them (no thundering herd).",
        "prefork 的工作进程分别服务了 {shares_zh} 个连接：每个新连接只唤醒一个在 accept() "
        "里等待的工作进程，而不是全部（没有惊群效应）。"),
    "pool queued": (
        "the pool served at most {at_once} connections at once with {threads} threads "
        "({workers} workers); the other clients queued, so its p99 latency was "
        "{p99:,.1f} ms.",
        "线程池同时最多服务 {at_once} 个连接，用了 {threads} 个线程（{workers} 个工作"
        "线程）；其他客户端排队，所以它的 p99 延迟是 {p99:,.1f} 毫秒。"),
    "loop computes": (
        "asyncio computed each answer in its one event loop and served {ratio:.2f}x "
        "plain's rate: while the loop computes, no other connection is served, so an "
        "event loop overlaps waiting, not computing.",
        "asyncio 在它唯一的事件循环里计算每个应答，速率是 plain 的 {ratio:.2f} 倍：事件"
        "循环计算时，别的连接都得不到服务，所以事件循环能重叠等待，不能重叠计算。"),
    "loop waits": (
        "asyncio served {at_once} connections at once in one thread and was "
        "{ratio:.1f}x faster than plain: each 'await asyncio.sleep()' hands the loop "
        "to another connection, so waits overlap without a thread per client.",
        "asyncio 在一个线程里同时服务了 {at_once} 个连接，比 plain 快 {ratio:.1f} 倍："
        "每个 'await asyncio.sleep()' 都把事件循环交给另一个连接，所以不必每个客户端"
        "一个线程，等待也能重叠。"),
    "threading started": (
        "threading started {threads} threads, one per connection; the pool reused "
        "{reused}.",
        "threading 启动了 {threads} 个线程，每个连接一个；线程池复用了 {reused} 个。"),
    "near ceiling": (
        "warning: {model} with {clients} client(s) reached {share:.0%} of the "
        "instrument's ceiling ({ceiling:,.0f} requests/s against a server that does no "
        "work): that close to it, the figure measures the load generator and the "
        "machine as much as the server.",
        "注意：{model} 在 {clients} 个客户端时达到了测量仪器上限的 {share:.0%}（对一个"
        "什么都不做的服务器是 {ceiling:,.0f} 请求/秒）：离它这么近，这个数字测到的负载"
        "生成器和机器，和服务器一样多。"),
    "errors": (
        "{model} with {clients} client(s): {errors} error(s) and {unfinished} "
        "request(s) still unanswered at the end ({kinds}).",
        "{model}，{clients} 个客户端：{errors} 个错误，结束时还有 {unfinished} 个请求"
        "没有得到应答（{kinds}）。"),
    "answered": (
        "{model} answered {answered} of {clients} connections{why}: the others "
        "waited, unanswered, for a turn.",
        "{model} 只应答了 {clients} 个连接中的 {answered} 个{why_zh}：其余的在等待轮到"
        "自己，没有得到应答。"),
    "max children is": (" (max_children is {limit})", "（max_children 是 {limit}）"),
    "held": (
        "{model} held {answered} connection(s) with {threads} thread(s) in "
        "{processes} process(es): {each:,.0f} KiB more per connection ({figure}).",
        "{model} 用 {processes} 个进程里的 {threads} 个线程持有 {answered} 个连接："
        "每个连接多用 {each:,.0f} KiB（{figure}）。"),
    "rss and pss": (
        "{model}'s RSS grew {rss:,.0f} KiB per connection, its PSS {each:,.0f}: a "
        "forked child shares its parent's pages until it writes to them, and RSS "
        "counts a shared page once in every process; PSS divides it among them.",
        "{model} 的 RSS 每个连接增长 {rss:,.0f} KiB，PSS 增长 {each:,.0f}：fork 出来的"
        "子进程在写之前一直与父进程共享内存页，RSS 把共享页在每个进程里各算一次；PSS "
        "把它按进程均分。"),
    "process and thread": (
        "a process per connection cost {ratio:,.0f}x the memory of a thread per "
        "connection (PSS).",
        "每个连接一个进程，内存代价是每个连接一个线程的 {ratio:,.0f} 倍（PSS）。"),
    "short in microseconds": (
        "A connection was served for {length:.0f} microseconds (the median), shorter "
        "than one cell of the timeline ({cell:.0f} ms): ",
        "一个连接被服务的时间是 {length:.0f} 微秒（中位数），比时间线的一格（{cell:.0f} "
        "毫秒）还短："),
    "short in ms": (
        "A connection was served for {length:.1f} ms (the median), shorter than one "
        "cell of the timeline ({cell:.0f} ms): ",
        "一个连接被服务的时间是 {length:.1f} 毫秒（中位数），比时间线的一格（{cell:.0f} "
        "毫秒）还短："),
    "cannot tell": (
        "a '+' says a client was served during part of that cell, and several '+' in "
        "one column may have been served one after another or together; the picture "
        "cannot tell, 'at once' in the table can.",
        "'+' 表示客户端在那一格里有一部分时间在被服务；同一列里的几个 '+' 可能是一个接"
        "一个被服务的，也可能是同时被服务的：图分辨不出来，表里的 'at once' 可以。"),
    "no proc": (
        "memory could not be measured here: it is read from Linux's /proc.",
        "这里无法测量内存：内存数据读自 Linux 的 /proc。"),
}

LANGUAGE_INDEX = {"en": 0, "zh": 1}


class Sentence(str):
    """A sentence of the report: its English text, and the parts it was made of.

    ``Sentence(key, **values)`` is one part; ``+`` joins parts into one
    sentence; ``say(lang)`` says it in *lang*.
    """

    def __new__(cls, key=None, parts=None, **values):
        parts = list(parts or []) + ([(key, values)] if key else [])
        sentence = super().__new__(cls, cls._join(parts, 0))
        sentence.parts = parts
        return sentence

    @staticmethod
    def _join(parts, index):
        return "".join(SENTENCES[key][index].format(**values) for key, values in parts)

    def __add__(self, other):
        return Sentence(parts=self.parts + other.parts)

    def say(self, lang):
        """The sentence in *lang* ("en" or "zh"; English for any other)."""
        return self._join(self.parts, LANGUAGE_INDEX.get(lang, 0))
