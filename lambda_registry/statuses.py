"""The status codes of a Lambda instance and the groups the count reports.

Codes travel as strings ("20") in the API, as the original service VMs send
them, and are stored as small integers.
"""

STATUS_NAMES = {
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
}

ALL_CODES = frozenset(STATUS_NAMES)
RUNNING = 0
DESTROYED = 6
FAILED_CODES = frozenset([9] + list(range(11, 24, 2)))
ACTIVE_CODES = ALL_CODES - FAILED_CODES - {DESTROYED}

# The string form of every code, for parsing input without int() surprises
# (int() would accept " 20", "+20", "020" and "2_0").
CODE_BY_TEXT = {str(code): code for code in STATUS_NAMES}
