#!/usr/bin/env bash
# Deploy the AWS IAM role for the transfer (CloudFormation). Needs AWS credentials for the bucket's account and
# the GCP project (for the STS service agent's subject id). Prints the role ARN to pass as AWS_ROLE_ARN.
#   AWS_BUCKET=my-wattline-bucket PROJECT=my-gcp-project infra/gcp/aws-transfer-role.sh [--dry-run]
# Optional: GOOGLE_SUBJECT_ID (skips asking Storage Transfer for it), AWS_STACK (wattline-gcs-transfer-role),
# AWS_KMS_KEY_ARN (when the bucket's objects are encrypted with a customer-managed KMS key).
# --dry-run prints the commands (the subject id is the placeholder SUBJECT_ID) instead of running them.
if [[ "${1:-}" == "--dry-run" ]]; then DRY_RUN=1; fi
source "$(dirname "$0")/env.sh"
: "${AWS_BUCKET:?set AWS_BUCKET (the S3 bucket holding daily/)}"
if [[ -n "${GOOGLE_SUBJECT_ID:-}" ]]; then
  SUBJECT_ID="$GOOGLE_SUBJECT_ID"
else
  capture SUBJECT_ID SUBJECT_ID "$(dirname "$0")/transfer-job.sh" --print-subject-id
fi
STACK="${AWS_STACK:-wattline-gcs-transfer-role}"
run_quiet aws cloudformation deploy --stack-name "$STACK" --template-file "$(dirname "$0")/aws-transfer-role.yaml" \
  --capabilities CAPABILITY_NAMED_IAM \
  --parameter-overrides "GoogleSubjectId=$SUBJECT_ID" "SourceBucketName=$AWS_BUCKET" "KmsKeyArn=${AWS_KMS_KEY_ARN:-}"
run aws cloudformation describe-stacks --stack-name "$STACK" \
  --query "Stacks[0].Outputs[?OutputKey=='RoleArn'].OutputValue" --output text
