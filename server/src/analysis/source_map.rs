//! Maps byte ranges of rendered TOML back to the template source that produced them.
//!
//! The rendered text is a sequence of runs. A verbatim run was copied byte for byte from
//! the template starting at `src`; a generated run was produced by the tag at `src..src_end`
//! (an expression, an include, a macro call). Runs are sorted by their rendered offset, so
//! a lookup is a binary search.

use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    /// Start of the run in the rendered text.
    out: usize,
    /// Start of the copied text, or of the generating tag.
    src: usize,
    /// End of the generating tag; unused for verbatim runs.
    src_end: usize,
    verbatim: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMap {
    runs: Vec<Run>,
    /// Length of the rendered text.
    len: usize,
}

impl SourceMap {
    /// The map of a text rendered to itself.
    pub fn identity(len: usize) -> Self {
        let mut map = Self::new();
        map.push_verbatim(0, 0);
        map.len = len;
        map
    }

    /// An empty map; runs are appended in rendered order.
    pub fn new() -> Self {
        Self {
            runs: Vec::new(),
            len: 0,
        }
    }

    /// From rendered offset `out` on, text is copied from the template at `src`.
    pub fn push_verbatim(&mut self, out: usize, src: usize) {
        self.push(Run {
            out,
            src,
            src_end: src,
            verbatim: true,
        });
    }

    /// From rendered offset `out` on, text is produced by the tag at `tag`.
    pub fn push_generated(&mut self, out: usize, tag: Range<usize>) {
        self.push(Run {
            out,
            src: tag.start,
            src_end: tag.end.max(tag.start),
            verbatim: false,
        });
    }

    fn push(&mut self, run: Run) {
        // A run that produced nothing is replaced by the one that follows it.
        if let Some(last) = self.runs.last_mut() {
            if last.out >= run.out {
                *last = run;
                return;
            }
        }
        self.runs.push(run);
    }

    /// Records the rendered text's final length.
    pub fn finish(&mut self, len: usize) {
        self.len = len;
    }

    /// Index of the run holding rendered offset `at`.
    fn run_at(&self, at: usize) -> Option<&Run> {
        let idx = self.runs.partition_point(|r| r.out <= at);
        self.runs.get(idx.checked_sub(1)?)
    }

    fn run_end(&self, run: &Run) -> usize {
        let idx = self.runs.partition_point(|r| r.out <= run.out);
        self.runs.get(idx).map_or(self.len, |next| next.out)
    }

    /// The template range that produced `rendered`: each end mapped on its own; an end in
    /// generated text maps to the whole generating tag.
    pub fn to_source(&self, rendered: Range<usize>) -> Range<usize> {
        let start = rendered.start.min(self.len);
        let end = rendered.end.clamp(start, self.len);
        let Some(first) = self.run_at(start) else {
            return 0..0;
        };
        let (s, s_end) = if first.verbatim {
            let p = first.src + (start - first.out);
            (p, p)
        } else {
            (first.src, first.src_end)
        };
        if end == start {
            return s..s_end;
        }
        let Some(last) = self.run_at(end - 1) else {
            return s..s_end;
        };
        let e = if last.verbatim {
            last.src + (end - last.out)
        } else {
            last.src_end
        };
        if e < s {
            // Text repeated by a loop can map backwards; keep the start's own extent.
            return if first.verbatim {
                s..s + (self.run_end(first).min(end) - start)
            } else {
                s..s_end
            };
        }
        s..e.max(s_end)
    }

    /// Whether every byte of `rendered` was copied verbatim from one contiguous stretch of
    /// the template, so an edit there can be applied to the template.
    pub fn is_verbatim(&self, rendered: Range<usize>) -> bool {
        let start = rendered.start.min(self.len);
        let end = rendered.end.clamp(start, self.len);
        let Some(mut run) = self.run_at(start) else {
            return false;
        };
        loop {
            if !run.verbatim {
                return false;
            }
            let run_end = self.run_end(run);
            if end <= run_end {
                return true;
            }
            let Some(next) = self.run_at(run_end) else {
                return false;
            };
            if next.out == run.out || next.src != run.src + (run_end - run.out) {
                return false;
            }
            run = next;
        }
    }

    pub fn weight(&self) -> usize {
        std::mem::size_of::<Self>() + self.runs.len() * std::mem::size_of::<Run>()
    }
}

impl Default for SourceMap {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_maps_every_range_to_itself() {
        let m = SourceMap::identity(10);
        assert_eq!(m.to_source(2..5), 2..5);
        assert_eq!(m.to_source(7..7), 7..7);
        assert!(m.is_verbatim(0..10));
    }

    #[test]
    fn generated_runs_map_to_their_tag() {
        // template: `a = {{ x }}\nb = 1`  rendered: `a = VALUE\nb = 1`
        let mut m = SourceMap::new();
        m.push_verbatim(0, 0);
        m.push_generated(4, 4..11);
        m.push_verbatim(9, 11);
        m.finish(15);
        assert_eq!(m.to_source(0..3), 0..3);
        assert_eq!(m.to_source(5..7), 4..11);
        assert_eq!(m.to_source(10..15), 12..17);
        assert_eq!(m.to_source(0..9), 0..11);
        assert!(m.is_verbatim(10..15));
        assert!(!m.is_verbatim(3..6));
    }

    #[test]
    fn separate_segments_are_not_one_verbatim_edit() {
        let mut m = SourceMap::new();
        m.push_verbatim(0, 0);
        m.push_verbatim(3, 20);
        m.finish(6);
        assert!(m.is_verbatim(0..3));
        assert!(!m.is_verbatim(1..5));
        assert_eq!(m.to_source(4..5), 21..22);
    }
}
