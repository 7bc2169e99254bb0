"""The producer's partitioner puts every key where aiokafka's default partitioner does: a
call's events keep landing on the partition other clients (and earlier versions) chose."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from switchboard_runtime.kafka import partition_for

# Kafka's own murmur2 test vectors (the Java client's UtilsTest.testMurmur2), as signed ints.
JAVA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}
KEYS = [b"", b"a", b"call-1", b"bench1a2b3c4d-000042", "звонок-7".encode(), bytes(range(37))]


def test_keys_land_where_the_java_client_puts_them() -> None:
    for key, signed in JAVA_MURMUR2.items():
        for count in (1, 3, 7, 12):
            expected = (signed & 0x7FFFFFFF) % count  # Utils.toPositive(murmur2) % partitions
            assert partition_for(key, list(range(count)), []) == expected


def test_every_key_lands_on_the_default_partitioners_partition() -> None:
    default = DefaultPartitioner()
    for count in (1, 3, 12):
        partitions = list(range(count))
        for key in KEYS:
            expected = default(key, partitions, partitions)
            assert partition_for(key, partitions, partitions) == expected
            assert partition_for(key, partitions, partitions) == expected  # remembered


def test_a_key_that_is_none_goes_to_an_available_partition() -> None:
    for _ in range(20):
        assert partition_for(None, [0, 1, 2], [2]) == 2
        assert partition_for(None, [0, 1, 2], []) in (0, 1, 2)
