//! What the Training tab's figures mean, in words: shown as tooltips on each figure and, all
//! together, under "What these numbers mean".

/// The mask ratio.
pub const MASK_RATIO: &str = "Mask ratio: the share of the spectrogram's patches hidden from \
    the model at each update. It learns by guessing what the hidden patches hold from the rest; \
    more hidden is a harder task (0.7 is the usual choice).";

/// The teacher's perplexity.
pub const PERPLEXITY: &str = "Perplexity: how many of its prototype sounds the teacher spreads \
    its answers over. Near 1 means it gives the same answer to everything (training has \
    collapsed); a healthy run stays well above that.";

/// The gradient norm |g|.
pub const GRAD_NORM: &str = "|g|: the size of the gradient, how hard this update pushes the \
    weights. Steady values are good; large spikes mean the learning rate is too high.";

/// The teacher temperature.
pub const TEACHER_TEMPERATURE: &str = "Teacher temperature: how sharp the teacher's targets \
    are. It falls during the warm-up so the targets become more decisive; lower is sharper.";

/// Every explanation, in the order the tab shows the figures.
pub const ALL: [&str; 4] = [PERPLEXITY, GRAD_NORM, TEACHER_TEMPERATURE, MASK_RATIO];
