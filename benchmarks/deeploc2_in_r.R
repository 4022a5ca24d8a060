# Reads a `protloc predict --format deeploc2` file the way R pipelines read DeepLoc 2.0's results (read.csv, as
# IsoformSwitchAnalyzeR and most scripts do; a comma split into 13 fields, as RAVEN's textscan does), checks the
# column rules they rely on, and says whether the installed IsoformSwitchAnalyzeR has analyzeDeepLoc2 (Debian 12's
# r-bioc-isoformswitchanalyzer is 1.20.0, from before it).
#
#   Rscript benchmarks/deeploc2_in_r.R RESULTS.csv
#
# Prints a Markdown report (benchmarks/results/deeploc2-in-r.md is this script's output on the example proteins).
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript benchmarks/deeploc2_in_r.R RESULTS.csv")
path <- args[1]
expected <- c("Protein_ID", "Localizations", "Signals", "Cytoplasm", "Nucleus", "Extracellular", "Cell membrane",
              "Mitochondrion", "Plastid", "Endoplasmic reticulum", "Lysosome/Vacuole", "Golgi apparatus", "Peroxisome")
calls <- utils::read.csv(path, check.names = FALSE, stringsAsFactors = FALSE)
probabilities <- calls[, 4:13]
cat("# A protloc DeepLoc 2.0 file read in R\n\n")
cat("Commands: `make bench-interop` (`protloc predict protloc/prediction/presets/examples.fasta --format deeploc2`, then this script on its file, ", basename(path), ")  \n", sep = "")
cat("R ", as.character(getRversion()), "\n\n", sep = "")
cat("| check | result |\n|---|---|\n")
cat("| `read.csv(check.names = FALSE)`: columns, rows | ", ncol(calls), ", ", nrow(calls), " |\n", sep = "")
cat("| column names exactly DeepLoc 2.0's | ", identical(colnames(calls), expected), " |\n", sep = "")
cat("| every probability column numeric | ", all(vapply(probabilities, is.numeric, TRUE)), " |\n", sep = "")
cat("| probabilities within [0, 1] | ", all(probabilities >= 0 & probabilities <= 1), " |\n", sep = "")
cat("| `Localizations` never empty | ", all(nchar(calls$Localizations) > 0), " |\n", sep = "")
locations <- unique(unlist(strsplit(calls$Localizations, "|", fixed = TRUE)))
cat("| every location called is a column name | ", all(locations %in% expected[4:13]), " |\n", sep = "")
cat("| textscan(`%s` x 13, Delimiter ',') as RAVEN reads it: fields per row | ",
    paste(unique(lengths(strsplit(readLines(path)[-1], ",", fixed = TRUE))), collapse = ", "), " |\n", sep = "")
has_isa <- requireNamespace("IsoformSwitchAnalyzeR", quietly = TRUE)
version <- if (has_isa) as.character(utils::packageVersion("IsoformSwitchAnalyzeR")) else "not installed"
has_function <- has_isa && exists("analyzeDeepLoc2", envir = asNamespace("IsoformSwitchAnalyzeR"))
cat("| IsoformSwitchAnalyzeR ", version, ": has `analyzeDeepLoc2` | ", has_function, " |\n", sep = "")
cat("\n| Localizations | proteins |\n|---|---:|\n")
counts <- table(calls$Localizations)
cat(sprintf("| %s | %d |\n", gsub("|", "\\|", names(counts), fixed = TRUE), as.integer(counts)), sep = "")
