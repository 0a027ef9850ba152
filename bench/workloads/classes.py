"""Class-heavy code: a small scheduler of cooperative tasks (objects, inheritance,
method dispatch, properties), in the spirit of the classic OS-simulation benchmarks."""


class Packet:
    __slots__ = ("kind", "payload", "hops")

    def __init__(self, kind, payload):
        self.kind = kind
        self.payload = payload
        self.hops = 0


class Task:
    def __init__(self, name, scheduler, priority):
        self.name = name
        self.scheduler = scheduler
        self.priority = priority
        self.inbox = []
        self.handled = 0

    @property
    def ready(self):
        return bool(self.inbox)

    def send(self, target, packet):
        packet.hops += 1
        self.scheduler.deliver(target, packet)

    def step(self):
        packet = self.inbox.pop(0)
        self.handled += 1
        self.handle(packet)

    def handle(self, packet):
        raise NotImplementedError


class Producer(Task):
    def __init__(self, name, scheduler, priority, count):
        super().__init__(name, scheduler, priority)
        self.remaining = count

    def handle(self, packet):
        if self.remaining > 0:
            self.remaining -= 1
            kind = "work" if self.remaining % 3 else "io"
            self.send("router", Packet(kind, self.remaining))
        self.inbox.append(packet)  # keep ticking


class Router(Task):
    def handle(self, packet):
        self.send("worker" if packet.kind == "work" else "device", packet)


class Worker(Task):
    def __init__(self, name, scheduler, priority):
        super().__init__(name, scheduler, priority)
        self.total = 0

    def handle(self, packet):
        self.total += packet.payload * packet.hops


class Device(Worker):
    def handle(self, packet):
        super().handle(packet)
        if packet.hops < 4:
            self.send("router", packet)


class Scheduler:
    def __init__(self):
        self.tasks = {}

    def add(self, task):
        self.tasks[task.name] = task
        return task

    def deliver(self, name, packet):
        self.tasks[name].inbox.append(packet)

    def run(self):
        steps = 0
        ordered = sorted(self.tasks.values(), key=lambda t: -t.priority)
        while True:
            task = next((t for t in ordered if t.ready and not (isinstance(t, Producer) and t.remaining == 0)), None)
            if task is None:
                return steps
            task.step()
            steps += 1


def bench():
    s = Scheduler()
    producer = s.add(Producer("producer", s, 1, 15000))
    s.add(Router("router", s, 3))
    worker = s.add(Worker("worker", s, 2))
    device = s.add(Device("device", s, 4))
    producer.inbox.append(Packet("tick", 0))
    steps = s.run()
    return (steps, worker.total, device.total, sum(t.handled for t in s.tasks.values()))
