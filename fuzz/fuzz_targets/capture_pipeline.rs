//! Arbitrary bytes as a whole capture file, through the reader, decoder, defragmenter, flow table and
//! TCP reassembly. Any panic, hang or runaway allocation is a bug.

#![no_main]

use capture::{
    CaptureReader, CollectingConsumer, FlowHandler, FlowInfo, FlowRecord, Pipeline, PipelineConfig,
};
use libfuzzer_sys::fuzz_target;

/// Keeps every flow's delivered bytes, so reassembly output is built (and dropped) for real.
struct Collect;

impl FlowHandler for Collect {
    type Consumer = CollectingConsumer;
    fn open(&mut self, _: &FlowInfo) -> CollectingConsumer {
        CollectingConsumer::default()
    }
    fn finish(&mut self, _: FlowRecord, _: CollectingConsumer) {}
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = CaptureReader::new(std::io::Cursor::new(data.to_vec())) else {
        return;
    };
    let mut pipeline = Pipeline::new(PipelineConfig::default(), Collect);
    while let Ok(Some(pkt)) = reader.next_packet() {
        pipeline.packet(&pkt);
    }
    let _ = pipeline.finish();
});
