# Reference fits with R's lme4 for perfkit's growth-model tests.
#
#   Rscript tests/reference/lme4_fits.R            (from the project root; needs r-cran-lme4)
#
# Reads every tests/reference/data/*.csv (columns clinician_id, client_id, week, score, intake,
# intake_c, as perfkit writes model_data_<instrument>.csv) and writes, for each, a file
# tests/reference/lme4/<name>.csv with one row per quantity: the fixed effects, the variance
# components, the fixed effects' standard errors, the REML log-likelihood and whether the fit is singular; and
# tests/reference/lme4/<name>_correlated.csv for the model with a correlated client intercept
# and slope, (1 + week | clinician_id:client_id), which perfkit's own fitter offers; and
# tests/reference/lme4/<name>_ranef.csv with each clinician's conditional mode of the week slope
# and its conditional variance (ranef(condVar = TRUE)), the basis of clinician_effects.csv.
suppressMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
root <- if (length(args) > 0) args[1] else "tests/reference"
dir.create(file.path(root, "lme4"), showWarnings = FALSE)
for (path in Sys.glob(file.path(root, "data", "*.csv"))) {
  d <- read.csv(path, colClasses = c(clinician_id = "character", client_id = "character"))
  name <- sub("\\.csv$", "", basename(path))
  for (variant in c("independent", "correlated")) {
  fit <- if (variant == "independent") {
    lmer(score ~ week * intake_c + (1 + week | clinician_id) +
           (1 | clinician_id:client_id) + (0 + week | clinician_id:client_id),
         data = d, REML = TRUE)
  } else {
    lmer(score ~ week * intake_c + (1 + week | clinician_id) +
           (1 + week | clinician_id:client_id), data = d, REML = TRUE)
  }
  vc <- as.data.frame(VarCorr(fit))
  get <- function(grp, v1, v2 = NA) {
    # lme4 names a second term on the same grouping "<grp>.1": match either name
    g2 <- gsub(":", ".", grp, fixed = TRUE)  # as.data.frame(VarCorr) writes "a.b" for "a:b"
    same <- vc$grp %in% c(grp, paste0(grp, ".1"), g2, paste0(g2, ".1"))
    row <- vc[same & vc$var1 %in% v1 &
                (if (is.na(v2)) is.na(vc$var2) else vc$var2 %in% v2), ]
    row$vcov[1]
  }
  cl_int <- get("clinician_id", "(Intercept)")
  cl_slope <- get("clinician_id", "week")
  cl_cov <- get("clinician_id", "(Intercept)", "week")
  cli_cov <- if (variant == "correlated") get("clinician_id:client_id", "(Intercept)", "week")
             else 0
  out <- data.frame(
    quantity = c(paste0("fixef:", names(fixef(fit))), paste0("se:", names(fixef(fit))),
                 "clinician_intercept", "clinician_slope",
                 "clinician_covariance", "client_intercept", "client_slope",
                 "client_covariance", "residual", "reml_loglik", "singular", "n_scores",
                 "lme4_version"),
    value = c(unname(fixef(fit)), unname(sqrt(diag(as.matrix(vcov(fit))))),
              cl_int, cl_slope, cl_cov,
              get("clinician_id:client_id", "(Intercept)"),
              get("clinician_id:client_id", "week"), cli_cov, sigma(fit)^2,
              as.numeric(logLik(fit)), as.numeric(isSingular(fit)), nrow(d), NA))
  out$value <- format(out$value, digits = 12)
  out$value[nrow(out)] <- as.character(packageVersion("lme4"))
  suffix <- if (variant == "independent") "" else "_correlated"
  if (variant == "independent") {
    re <- ranef(fit, condVar = TRUE)$clinician_id
    pv <- attr(re, "postVar")
    k <- which(colnames(re) == "week")
    modes <- data.frame(clinician_id = rownames(re),
                        slope = format(re[, k], digits = 12),
                        slope_condvar = format(pv[k, k, ], digits = 12))
    write.csv(modes, file.path(root, "lme4", paste0(name, "_ranef.csv")), row.names = FALSE)
  }
  write.csv(out, file.path(root, "lme4", paste0(name, suffix, ".csv")), row.names = FALSE)
  cat(name, variant, ": logLik", as.numeric(logLik(fit)), "singular", isSingular(fit), "\n")
  }
}
