#!/usr/bin/python3
"""percentiles.percentile: nearest rank over values in any order. The demo
once indexed the concatenation of two calls' sorted latencies and printed a
p50 above its p99; the first case is that list."""

import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from percentiles import percentile  # noqa: E402


class PercentileTest(unittest.TestCase):
    def test_two_calls_sorted_each_not_together(self):
        slow_call = [4.0 + i / 100 for i in range(120)]  # 4.00 .. 5.19 ms
        fast_call = [2.0 + i / 100 for i in range(80)]   # 2.00 .. 2.79 ms
        lat = slow_call + fast_call
        # the list that fooled plain indexing: "p50" 5.00 above "p99" 2.78
        self.assertGreater(lat[len(lat) // 2], lat[int(len(lat) * 0.99)])
        # ranks 100 and 198 of 200: the 20th and 118th of the slow call
        self.assertEqual(percentile(lat, 50), slow_call[19])
        self.assertEqual(percentile(lat, 99), slow_call[117])

    def test_nearest_rank(self):
        values = list(range(100, 0, -1))  # 100 .. 1, reversed on purpose
        self.assertEqual(percentile(values, 50), 50)
        self.assertEqual(percentile(values, 99), 99)
        self.assertEqual(percentile(values, 100), 100)
        self.assertEqual(percentile(values, 1), 1)
        self.assertEqual(percentile(values, 0.5), 1)
        self.assertEqual(percentile(range(1, 1001), 99.9), 999)
        # 7 / 100 * 100 is 7.000000000000001 in floating point: still rank 7
        self.assertEqual(percentile(values, 7), 7)

    def test_small_lists(self):
        self.assertEqual(percentile([3.5], 50), 3.5)
        self.assertEqual(percentile([3.5], 99), 3.5)
        self.assertEqual(percentile([2, 1], 50), 1)
        self.assertEqual(percentile([2, 1], 99), 2)
        self.assertEqual(percentile([5, 1, 3], 50), 3)

    def test_input_left_alone(self):
        values = [3, 1, 2]
        percentile(values, 50)
        self.assertEqual(values, [3, 1, 2])

    def test_no_made_up_figures(self):
        for values, p in (([], 50), ([1.0], 0), ([1.0], -5), ([1.0], 100.5)):
            with self.subTest(values=values, p=p), self.assertRaises(ValueError):
                percentile(values, p)


if __name__ == "__main__":
    unittest.main()
