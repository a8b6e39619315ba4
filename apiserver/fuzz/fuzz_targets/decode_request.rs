//! libFuzzer entry point: arbitrary bytes through the API server's request
//! decoding path (see `capstan_apiserver_fuzz::decode_request`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    capstan_apiserver_fuzz::decode_request(data);
});
