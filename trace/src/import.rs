//! A trace from two raw byte captures (what socat, strace or tcpflow give): the
//! client → adapter stream and the adapter → client stream, with no times.
//!
//! # How the order is reconstructed
//!
//! Each stream is split into pieces with [`FrameSplitter`] (every byte kept, in order).
//! Order *within* a stream is exact; order *between* the streams is rebuilt from what the
//! protocol guarantees — a response comes after its request — and from how adapters
//! behave — what an adapter sends after a response follows from the request answered:
//!
//! 1. The next adapter piece is emitted as early as it can be:
//!    - a response, once a client request with its `request_seq` has been emitted and not
//!      yet answered (or once the client stream is exhausted: an unpaired response);
//!    - a reverse request (`runInTerminal`, `startDebugging`), once a client request is
//!      waiting for its response (adapters make them while serving `launch`/`attach`), or
//!      the client's next piece is a response, or the client stream is exhausted;
//!    - anything else (an event, bytes that are not a message), once the client has sent
//!      something (the client speaks first in DAP), so it follows the adapter piece
//!      before it.
//! 2. Otherwise the next client piece is emitted, unless it is a response to a reverse
//!    request (`runInTerminal`, `startDebugging`) the adapter has not sent yet.
//! 3. If both wait on each other (the captures contradict each other), the adapter piece
//!    goes first and the conflict is counted in the [`ImportReport`].
//!
//! So events stay where the adapter sent them, each right after the response before it
//! (a `stopped` after the `continue` response, before the client's next request), and
//! requests pipelined by the client come one by one, each before its own response.
//! Only the head of each stream is held in memory, plus the seqs of requests not yet
//! answered.

use crate::format::{Direction, Payload, Record, format_time};
use crate::tap::{FrameSplitter, Piece};
use crate::writer::TraceWriter;
use dapkit_types::ProtocolMessage;
use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::time::SystemTime;

/// What an import found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportReport {
    /// Records written from the client stream.
    pub client_records: u64,
    /// Records written from the adapter stream.
    pub adapter_records: u64,
    /// Of those, records holding bytes that are not a valid message.
    pub invalid_records: u64,
    /// Responses whose request was not found in the other stream.
    pub unpaired_responses: u64,
    /// Times both streams waited on each other and the order had to be guessed.
    pub conflicts: u64,
}

/// One stream being read: a reader, its splitter, the pieces not yet emitted.
struct Source<R> {
    input: R,
    splitter: FrameSplitter,
    queue: VecDeque<(Piece, Kind)>,
    ended: bool,
    buf: Vec<u8>,
}

/// What a piece is, as far as ordering cares.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Request(i64),
    Response(i64),
    Other,
}

impl<R: Read> Source<R> {
    fn new(input: R) -> Self {
        Source {
            input,
            splitter: FrameSplitter::new(),
            queue: VecDeque::new(),
            ended: false,
            buf: vec![0; 64 * 1024],
        }
    }

    /// The next piece, reading as much as needed.
    fn peek(&mut self) -> io::Result<Option<Kind>> {
        while self.queue.is_empty() && !self.ended {
            let n = loop {
                match self.input.read(&mut self.buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            };
            let queue = &mut self.queue;
            let mut sink = |piece: Piece| {
                let kind = kind_of(&piece);
                queue.push_back((piece, kind));
            };
            if n == 0 {
                self.ended = true;
                self.splitter.finish(&mut sink);
            } else {
                self.splitter.push(&self.buf[..n], &mut sink);
            }
        }
        Ok(self.queue.front().map(|(_, kind)| *kind))
    }

    fn pop(&mut self) -> Option<Piece> {
        self.queue.pop_front().map(|(piece, _)| piece)
    }
}

fn kind_of(piece: &Piece) -> Kind {
    let Piece::Frame(body) = piece else {
        return Kind::Other;
    };
    match ProtocolMessage::from_slice(body) {
        Ok(ProtocolMessage::Request(r)) => r.seq().map_or(Kind::Other, Kind::Request),
        Ok(ProtocolMessage::Response(r)) => r.request_seq().map_or(Kind::Other, Kind::Response),
        _ => Kind::Other,
    }
}

/// Requests emitted and not answered yet, by seq (seqs may repeat: lldb-dap and delve
/// send 0 on every message).
#[derive(Default)]
struct Pending(HashMap<i64, u64>);

impl Pending {
    fn add(&mut self, seq: i64) {
        *self.0.entry(seq).or_default() += 1;
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn has(&self, seq: i64) -> bool {
        self.0.contains_key(&seq)
    }

    /// Answers `seq`; false if no such request was pending.
    fn answer(&mut self, seq: i64) -> bool {
        match self.0.get_mut(&seq) {
            Some(n) if *n > 1 => {
                *n -= 1;
                true
            }
            Some(_) => {
                self.0.remove(&seq);
                true
            }
            None => false,
        }
    }
}

/// Reads the two captures and writes their pieces to `writer` in the reconstructed order
/// (see the module documentation). Records carry the import's time and offset 0: the
/// captures have no times. Fails only on an I/O error; bytes that are not messages become
/// invalid records.
pub fn import<W: Write>(
    client_stream: impl Read,
    adapter_stream: impl Read,
    writer: &mut TraceWriter<W>,
) -> io::Result<ImportReport> {
    let mut client = Source::new(client_stream);
    let mut adapter = Source::new(adapter_stream);
    let mut from_client = Pending::default(); // client requests awaiting the adapter's response
    let mut from_adapter = Pending::default(); // reverse requests awaiting the client's response
    let mut client_started = false;
    let mut report = ImportReport::default();
    let time = format_time(SystemTime::now());
    loop {
        let a = adapter.peek()?;
        let c = client.peek()?;
        let adapter_ready = match a {
            None => false,
            Some(Kind::Response(seq)) => from_client.has(seq) || c.is_none(),
            Some(Kind::Request(_)) => {
                !from_client.is_empty() || matches!(c, None | Some(Kind::Response(_)))
            }
            Some(Kind::Other) => client_started || c.is_none(),
        };
        let client_ready = match c {
            None => false,
            Some(Kind::Response(seq)) => from_adapter.has(seq) || a.is_none(),
            Some(_) => true,
        };
        let direction = if adapter_ready {
            Direction::AdapterToClient
        } else if client_ready {
            Direction::ClientToAdapter
        } else if a.is_some() {
            report.conflicts += 1;
            Direction::AdapterToClient
        } else {
            break;
        };
        let (piece, kind) = match direction {
            Direction::ClientToAdapter => (client.pop(), c),
            Direction::AdapterToClient => (adapter.pop(), a),
        };
        let Some(piece) = piece else { break };
        let (mine, theirs) = match direction {
            Direction::ClientToAdapter => {
                client_started = true;
                report.client_records += 1;
                (&mut from_client, &mut from_adapter)
            }
            Direction::AdapterToClient => {
                report.adapter_records += 1;
                (&mut from_adapter, &mut from_client)
            }
        };
        match kind {
            Some(Kind::Request(seq)) => mine.add(seq),
            Some(Kind::Response(seq)) if !theirs.answer(seq) => report.unpaired_responses += 1,
            _ => {}
        }
        let payload = match piece {
            Piece::Frame(body) => Payload::from_body(&body),
            Piece::Invalid { bytes, error } => Payload::Bytes {
                bytes: bytes.to_vec(),
                error: Some(error),
            },
        };
        if matches!(payload, Payload::Bytes { error: Some(_), .. }) {
            report.invalid_records += 1;
        }
        writer.write(&Record {
            time: time.clone(),
            offset_us: 0,
            direction,
            client: 0,
            payload,
        })?;
    }
    Ok(report)
}
