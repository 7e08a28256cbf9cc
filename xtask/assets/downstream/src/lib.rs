//! Nothing: the program is the test in tests/.
