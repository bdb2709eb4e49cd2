variable "region" {
  description = "AWS region of the pipeline."
  type        = string
  default     = "eu-west-1"
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "sample"

  validation {
    condition     = can(regex("^[a-z0-9-]{1,20}$", var.name_prefix))
    error_message = "name_prefix: 1 to 20 lowercase letters, digits or hyphens."
  }
}

variable "log_retention_days" {
  description = "Retention of the pipeline's log groups."
  type        = number
  default     = 365
}
