//! Captures to flows: reading pcap and pcapng files, decoding link to transport layers, reassembling IP
//! fragments, tracking bidirectional flows and reassembling TCP streams for application parsers.
//!
//! This crate knows no application protocol: it hands ordered bytes, gaps and datagrams to a
//! [`StreamConsumer`] and never looks inside them.

#![forbid(unsafe_code)]

pub mod addr;
pub mod decode;
pub mod defrag;
pub mod flow;
pub mod pipeline;
pub mod reader;
pub mod reassembly;
pub mod relay;
pub mod time;

pub use decode::{LinkAddrs, LinkType};
pub use flow::{
    CollectingHandler, Endpoint, FlowConfig, FlowHandler, FlowInfo, FlowKey, FlowRecord, FlowTable,
    TcpState,
};
pub use pipeline::{Pipeline, PipelineConfig, PipelineStats, reassemble_file};
pub use reader::{CaptureReader, Format, RawPacket, ReadError};
pub use reassembly::{
    CollectingConsumer, Direction, EndReason, NullConsumer, ReassemblyConfig, ReassemblyStats,
    StreamConsumer,
};
pub use time::Timestamp;
