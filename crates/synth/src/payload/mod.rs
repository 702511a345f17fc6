//! Application payloads, byte for byte as real stacks write them. Pure functions: no I/O, no time.
