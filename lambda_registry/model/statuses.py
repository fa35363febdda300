"""The status codes of the records, and the groups their counts report.

Codes travel as strings ("20") in the API, as the original service VMs send
them, and are stored as small integers.
"""


class Statuses:
    """The codes of one kind of record, each with its name; ``label`` names
    their OpenAPI components (``InstanceStatus``, ...)."""

    def __init__(self, label, names):
        self.label = label
        self.names = dict(names)
        self.codes = frozenset(self.names)
        # The string form of every code, for parsing input without int()
        # surprises (int() would accept " 20", "+20", "020" and "2_0").
        self.by_text = {str(code): code for code in self.names}

    def sorted_codes(self):
        return sorted(self.codes)


INSTANCE_STATUSES = Statuses("Instance", {
    0: "STARTED",
    1: "STOPPED",
    2: "PENDING",
    3: "STARTING",
    4: "STOPPING",
    5: "DESTROYING",
    6: "DESTROYED",
    7: "SCALING_UP",
    8: "SCALING_DOWN",
    9: "FAILED",
    10: "CLUSTER_CREATED",
    11: "CLUSTER_FAILED",
    12: "INIT_DONE",
    13: "INIT_FAILED",
    14: "COMMONS_INSTALLED",
    15: "COMMONS_FAILED",
    16: "HADOOP_INSTALLED",
    17: "HADOOP_FAILED",
    18: "KAFKA_INSTALLED",
    19: "KAFKA_FAILED",
    20: "FLINK_INSTALLED",
    21: "FLINK_FAILED",
    22: "FLUME_INSTALLED",
    23: "FLUME_FAILED",
})
RUNNING = 0
DESTROYED = 6
FAILED_CODES = frozenset([9] + list(range(11, 24, 2)))
ACTIVE_CODES = INSTANCE_STATUSES.codes - FAILED_CODES - {DESTROYED}

APPLICATION_STATUSES = Statuses("Application", {
    0: "UPLOADED",
    1: "UPLOADING",
    2: "FAILED",
})
UPLOADED = 0
APPLICATION_FAILED = 2
